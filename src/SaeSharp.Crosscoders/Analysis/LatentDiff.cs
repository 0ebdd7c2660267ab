namespace SaeSharp.Crosscoders.Analysis;

/// <summary>What model diffing measured for one latent.</summary>
/// <param name="Index">The latent's index.</param>
/// <param name="NormA">‖d_A‖, its decoder norm in source A.</param>
/// <param name="NormB">‖d_B‖.</param>
/// <param name="RelativeNorm">‖d_B‖ / (‖d_A‖ + ‖d_B‖): 0 lives in A only, 0.5 in both, 1 in B only (NaN when both are zero).</param>
/// <param name="Cosine">Cosine between d_A and d_B (NaN when either is zero).</param>
/// <param name="Class">The classification by relative norm (Dead when it never fired).</param>
/// <param name="FiringFraction">Share of the analysed rows on which it fired.</param>
/// <param name="BetaA">Latent scaling: the β that best explains source A's activations as β·f·u, u = the decoder of the source with the larger norm; the target is A's activation minus the crosscoder's reconstruction plus this latent's own part.</param>
/// <param name="BetaB">The same for source B.</param>
/// <param name="ErrorA">Relative error of that fit in A, ‖y − β f u‖² / ‖y‖² over the rows where it fired.</param>
/// <param name="ErrorB">The same for B.</param>
/// <param name="OnlyLooksExclusive">Exclusive by norm, but the other source's β is at least the flag ratio of its own: the other model carries the direction too.</param>
/// <param name="TopRows">Rows with the largest activations, largest first.</param>
/// <param name="TopActivations">Those activations.</param>
public sealed record LatentDiff(
    int Index, double NormA, double NormB, double RelativeNorm, double Cosine, LatentClass Class, double FiringFraction,
    double BetaA, double BetaB, double ErrorA, double ErrorB, bool OnlyLooksExclusive,
    IReadOnlyList<long> TopRows, IReadOnlyList<double> TopActivations);
