namespace SaeSharp.Analysis;

/// <summary>The probes of one binary label (see <see cref="SparseProbing"/>).</summary>
/// <param name="Label">The label's name.</param>
/// <param name="Positives">Rows where the label holds, over all rows.</param>
/// <param name="TrainRows">Training rows after class balancing (half of them positive).</param>
/// <param name="TestRows">Held-out rows (not balanced: AUROC does not depend on the class ratio).</param>
/// <param name="BaselineAuroc">Test AUROC of the L2 logistic probe on the raw activations.</param>
/// <param name="BaselineInverseRegularization">The C cross-validation chose for the baseline.</param>
/// <param name="Sparse">The k-sparse SAE probes, in the order of the requested k.</param>
public sealed record LabelProbeResult(
    string Label, long Positives, int TrainRows, int TestRows, double BaselineAuroc, double BaselineInverseRegularization,
    IReadOnlyList<SparseProbeScore> Sparse)
{
    /// <summary>
    /// Fits (cross-validation folds and refits, baseline and sparse) that stopped at
    /// <see cref="SparseProbingOptions.MaxIterations"/> and use their lowest-objective iterate; 0 when all converged.
    /// </summary>
    public int FitsAtIterationLimit { get; init; }
}
