using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Internals;

/// <summary>
/// One crosscoder training step (loss, gradients, Adam update in place) and its optimizer state. Both
/// implementations (<see cref="CrosscoderStep"/>, autograd; <see cref="FusedCrosscoderStep"/>, hand-derived
/// sparse backward) compute the same loss and write the same state names, so either resumes the other.
/// </summary>
internal interface ICrosscoderStep : IDisposable
{
    /// <summary>One step on x <c>[B, S, D]</c> with the given schedule values; <paramref name="deadMaskL"/> marks dead latents <c>[L]</c>.</summary>
    CrosscoderStepResult Step(Tensor xBSD, double learningRate, double l1Coefficient, Tensor deadMaskL, double auxKCoefficient, int auxKLatents);

    /// <summary>The optimizer's tensors by training-state name (<c>adam.m.W_enc</c>, …, <c>adam.step</c>).</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState();

    /// <summary>Restores what <see cref="OptimizerState"/> wrote (from either implementation).</summary>
    void LoadOptimizerState(IReadOnlyDictionary<string, Tensor> state);
}
