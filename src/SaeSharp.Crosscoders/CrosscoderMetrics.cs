namespace SaeSharp.Crosscoders;

/// <summary>Crosscoder training metrics averaged over the steps since the previous record (on the scaled inputs).</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="Tokens">Rows consumed.</param>
/// <param name="LearningRate">Learning rate of the last step.</param>
/// <param name="Loss">Total loss.</param>
/// <param name="Fvu">Fraction of variance unexplained over all sources together.</param>
/// <param name="SourceFvu">The same per source, in source order.</param>
/// <param name="L0">Mean active latents per row.</param>
/// <param name="DeadFraction">Fraction of latents that have not fired within the dead window.</param>
/// <param name="SparsityLoss">L1 term before its coefficient (0 for BatchTopK).</param>
/// <param name="AuxKLoss">AuxK term before its coefficient (0 for L1 or nothing dead).</param>
/// <param name="ElapsedSeconds">Wall time since this run (or resumed run) started.</param>
public sealed record CrosscoderMetrics(
    long Step, long Tokens, double LearningRate, double Loss, double Fvu, IReadOnlyList<double> SourceFvu, double L0,
    double DeadFraction, double SparsityLoss, double AuxKLoss, double ElapsedSeconds);
