using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// One optimisation step of an SAE: forward, backward, Adam update and the decoder constraint, applied
/// in place to the SAE's own parameters. Two implementations exist for the TopK family: autograd
/// (the reference) and the fused sparse step; they must agree.
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
internal interface ITrainingStep : IDisposable
{
    /// <summary>Runs one step on <paramref name="xBD"/> (already scaled; not centred).</summary>
    StepResult Step(Tensor xBD, StepSettings settings);

    /// <summary>Optimizer state (Adam moments and step count) by name, for the training-state file.</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState();

    /// <summary>Restores what <see cref="OptimizerState"/> returned.</summary>
    void LoadOptimizerState(IReadOnlyDictionary<string, Tensor> state);
}

/// <summary>Per-step inputs that the schedule and dead-latent tracker change.</summary>
/// <param name="LearningRate">Adam learning rate for this step.</param>
/// <param name="SparsityCoefficient">L1 or L0 coefficient after warmup (ignored by the TopK family).</param>
/// <param name="DeadMaskL">bool <c>[L]</c>: latents that have not fired within the dead window (AuxK candidates).</param>
/// <param name="AuxKCoefficient">Weight of the AuxK loss (TopK family).</param>
/// <param name="AuxKLatents">How many dead latents AuxK decodes per row.</param>
internal sealed record StepSettings(double LearningRate, double SparsityCoefficient, Tensor DeadMaskL, double AuxKCoefficient, int AuxKLatents);

/// <summary>
/// What one step measured, as tensors still on the step's device (reading them forces a sync, so the
/// trainer does so only at log intervals). All are 0-dim except <see cref="FiredCountsL"/>.
/// </summary>
/// <param name="Loss">Total loss that was minimised.</param>
/// <param name="ReconLoss">(1/B) Σ ‖x̂ − x‖².</param>
/// <param name="SparsityLoss">L1 / L0 term before its coefficient (0 for TopK family).</param>
/// <param name="AuxKLoss">AuxK term before its coefficient (0 when nothing is dead).</param>
/// <param name="SquaredErrorSum">Σ ‖x̂ − x‖² over the batch.</param>
/// <param name="VarianceSum">Σ ‖x − mean_B(x)‖² over the batch (FVU = SquaredErrorSum / VarianceSum).</param>
/// <param name="L0">Mean number of non-zero latents per row.</param>
/// <param name="FiredCountsL">float32 <c>[L]</c>: how many rows each latent was non-zero in.</param>
/// <param name="MinSelectedActivation">BatchTopK: smallest positive selected activation (threshold estimate); otherwise null.</param>
internal sealed record StepResult(
    Tensor Loss, Tensor ReconLoss, Tensor SparsityLoss, Tensor AuxKLoss, Tensor SquaredErrorSum,
    Tensor VarianceSum, Tensor L0, Tensor FiredCountsL, Tensor? MinSelectedActivation) : IDisposable
{
    public void Dispose()
    {
        Loss.Dispose(); ReconLoss.Dispose(); SparsityLoss.Dispose(); AuxKLoss.Dispose();
        SquaredErrorSum.Dispose(); VarianceSum.Dispose(); L0.Dispose(); FiredCountsL.Dispose();
        MinSelectedActivation?.Dispose();
    }
}
