namespace SaeSharp.Analysis;

/// <summary>What <see cref="HelixFit.Fit"/> measured; every R² is on the held-out numbers' rows.</summary>
/// <param name="FitRows">Rows the fits were fitted on.</param>
/// <param name="ScoreRows">Rows they were scored on.</param>
/// <param name="FitNumbers">Distinct numbers among the fitting rows.</param>
/// <param name="ScoreNumbers">Distinct numbers among the scoring rows (none of them seen in fitting).</param>
/// <param name="Periods">The periods T of the helix.</param>
/// <param name="BasisSize">K: basis functions (1 + linear + 2 per period).</param>
/// <param name="BasisRank">Rank of the basis on the fitting numbers (below K when a wave vanishes or repeats there, e.g. sin(πa) for T = 2 on integers).</param>
/// <param name="R2Helix">R² of the helix C·B(a): 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² (x̄: the scoring rows' mean).</param>
/// <param name="R2WithoutLinear">R² of the same helix without the linear term (equal to <paramref name="R2Helix"/> when the fit has none).</param>
/// <param name="R2LinearOnly">R² of the constant and the linear term alone.</param>
/// <param name="PcaComponents">Components of the PCA baseline: <paramref name="BasisRank"/> − 1, so that with its mean it has the helix's parameter count.</param>
/// <param name="R2PcaSameParams">R² of the scoring rows projected onto the fitting rows' top principal components (a reconstruction from x itself, an upper reference for any K-parameter linear map).</param>
/// <param name="R2RandomPeriods">Mean R² of helices with as many periods drawn at random (NaN without trials).</param>
/// <param name="RandomPeriodR2s">R² of each random-period trial.</param>
/// <param name="Model">The helix fitted on the fitting rows.</param>
/// <param name="ModelWithoutLinear">The helix without the linear term fitted on the same rows.</param>
public sealed record HelixFitResult(
    int FitRows, int ScoreRows, int FitNumbers, int ScoreNumbers, IReadOnlyList<double> Periods, int BasisSize, int BasisRank,
    double R2Helix, double R2WithoutLinear, double R2LinearOnly, int PcaComponents, double R2PcaSameParams,
    double R2RandomPeriods, IReadOnlyList<double> RandomPeriodR2s, HelixModel Model, HelixModel ModelWithoutLinear);
