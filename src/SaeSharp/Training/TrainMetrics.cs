namespace SaeSharp.Training;

/// <summary>Training metrics averaged over the steps since the previous record (on the scaled inputs).</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="Tokens">Rows consumed.</param>
/// <param name="LearningRate">Learning rate of the last step.</param>
/// <param name="Loss">Total loss.</param>
/// <param name="Mse">Mean squared error per element, on the scaled inputs.</param>
/// <param name="Fvu">Fraction of variance unexplained, Σ‖x̂ − x‖² / Σ‖x − x̄‖² (over all sources together for a crosscoder).</param>
/// <param name="L0">Mean active latents per row.</param>
/// <param name="DeadFraction">Fraction of latents that have not fired within the dead window.</param>
/// <param name="DenseFraction">Fraction of latents firing on more than the dense frequency of rows since the previous record.</param>
/// <param name="AuxKLoss">AuxK loss before its coefficient.</param>
/// <param name="SparsityLoss">L1/L0 term before its coefficient.</param>
/// <param name="ElapsedSeconds">Wall time since this run (or resumed run) started.</param>
/// <param name="SourceFvu">FVU per source, in source order (one entry for an SAE).</param>
public sealed record TrainMetrics(
    long Step, long Tokens, double LearningRate, double Loss, double Mse, double Fvu, double L0,
    double DeadFraction, double DenseFraction, double AuxKLoss, double SparsityLoss, double ElapsedSeconds,
    IReadOnlyList<double> SourceFvu);
