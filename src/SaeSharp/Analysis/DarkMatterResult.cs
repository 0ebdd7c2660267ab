namespace SaeSharp.Analysis;

/// <summary>
/// The dark-matter decomposition of an SAE's error on held-out rows (see <see cref="DarkMatter"/>); every number is
/// measured on the scoring rows with maps fitted on the fitting rows.
/// </summary>
/// <param name="FitRows">Rows the linear maps were fitted on.</param>
/// <param name="ScoreRows">Rows the numbers are measured on.</param>
/// <param name="LinearErrorR2">
/// Fraction of the error's variance that a linear map of x (with intercept) predicts:
/// 1 − Σ‖e − ê‖² / Σ‖e − ē‖², ē the scoring rows' per-dimension mean error.
/// </param>
/// <param name="NormR2">R² of the squared error norm ‖e‖² predicted linearly from x with an intercept.</param>
/// <param name="NonlinearFraction">Share of the squared error left after the linear prediction is added: Σ‖e − ê‖² / Σ‖e‖².</param>
/// <param name="Fvu">Fraction of variance unexplained by the SAE: Σ‖e‖² / Σ‖x − x̄‖².</param>
/// <param name="FvuWithLinear">The same with the linear prediction added to the reconstruction: Σ‖e − ê‖² / Σ‖x − x̄‖².</param>
public sealed record DarkMatterResult(
    long FitRows, long ScoreRows, double LinearErrorR2, double NormR2, double NonlinearFraction, double Fvu, double FvuWithLinear);
