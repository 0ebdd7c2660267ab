namespace SaeSharp.Analysis;

/// <summary>
/// How <see cref="LabelScoring"/> scores latents as detectors of labels. Immutable; change with <c>with</c>.
/// </summary>
public sealed record LabelScoringOptions
{
    /// <summary>
    /// Candidate thresholds as fractions of each latent's maximum activation over the rows (default [0]: a latent
    /// detects when its activation is &gt; 0). With several, latent j detects a label at its best threshold
    /// f · max_j among them (the F1 is then the best over the candidates, on the same rows).
    /// </summary>
    public IReadOnlyList<double> ThresholdFractions { get; init; } = [0.0];

    /// <summary>Labels with fewer positive rows are reported but left out of coverage (default 10).</summary>
    public long MinSupport { get; init; } = 10;

    /// <summary>A label is covered when its best latent's F1 reaches this (default 0.8).</summary>
    public double CoverageF1 { get; init; } = 0.8;

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public LabelScoringOptions Validate()
    {
        if (ThresholdFractions is null || ThresholdFractions.Count == 0)
            throw new SaeSharpException("at least one threshold fraction is needed", field: "threshold_fractions");
        foreach (var f in ThresholdFractions)
            if (!(f >= 0 && f < 1))
                throw new SaeSharpException($"threshold fraction {f} must be in [0, 1)", field: "threshold_fractions");
        if (MinSupport < 1) throw new SaeSharpException($"min_support = {MinSupport} must be at least 1", field: "min_support");
        if (!(CoverageF1 > 0 && CoverageF1 <= 1)) throw new SaeSharpException($"coverage_f1 = {CoverageF1} must be in (0, 1]", field: "coverage_f1");
        return this;
    }
}
