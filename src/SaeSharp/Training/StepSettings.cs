using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>Per-step inputs that the schedule and dead-latent tracker change.</summary>
/// <param name="LearningRate">Adam learning rate for this step.</param>
/// <param name="SparsityCoefficient">L1 or L0 coefficient after warmup (ignored by the TopK family).</param>
/// <param name="DeadMaskL">bool <c>[L]</c>: latents that have not fired within the dead window (AuxK candidates).</param>
/// <param name="AuxKCoefficient">Weight of the AuxK loss (TopK family).</param>
/// <param name="AuxKLatents">How many dead latents AuxK decodes per row.</param>
public sealed record StepSettings(double LearningRate, double SparsityCoefficient, Tensor DeadMaskL, double AuxKCoefficient, int AuxKLatents);
