using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// One optimisation step of a dictionary (an SAE or a crosscoder): forward, backward, Adam update and any
/// decoder constraint, applied in place to the model's own parameters. <see cref="DictionaryTrainer"/> runs
/// one per batch. Each model has an autograd step (the reference, every architecture) and, for the TopK
/// family, a fused sparse step; the tests hold them equal, and both write the same optimizer-state names
/// so either resumes the other.
/// </summary>
/// <remarks>
/// Loss (all architectures): recon = (1/B) Σ_b ‖x̂_b − x_b‖², plus the architecture's sparsity term
/// (L1 / L0) times its coefficient, plus for the TopK family AuxK = (1/B) Σ_b ‖ê_b − e_b‖² times
/// <see cref="StepSettings.AuxKCoefficient"/>, where e = x − x̂ (no gradient) and ê is the decoding
/// (without b_dec) of the top <see cref="StepSettings.AuxKLatents"/> pre-activations among dead latents.
/// Adam: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε).
/// Unit-norm decoders: the gradient component parallel to each decoder row is removed before Adam and
/// the rows are renormalised after it.
/// </remarks>
public interface ITrainingStep : IDisposable
{
    /// <summary>Runs one step on a prepared batch (already scaled; not centred): <c>[B, D]</c> for an SAE, <c>[B, S, D]</c> for a crosscoder.</summary>
    StepResult Step(Tensor x, StepSettings settings);

    /// <summary>Optimizer state (Adam moments and step count) by name, for the training-state file.</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState();

    /// <summary>Restores what <see cref="OptimizerState"/> returned.</summary>
    void LoadOptimizerState(IReadOnlyDictionary<string, Tensor> state);
}

