namespace SaeSharp.Crosscoders.Analysis;

/// <summary>Settings of <see cref="ModelDiff.Analyze"/>. Immutable; change with <c>with</c>.</summary>
public sealed record ModelDiffOptions
{
    /// <summary>Index of source A (default 0).</summary>
    public int SourceA { get; init; }

    /// <summary>Index of source B (default 1).</summary>
    public int SourceB { get; init; } = 1;

    /// <summary>
    /// A latent whose relative norm r = ‖d_B‖ / (‖d_A‖ + ‖d_B‖) is at most this is A-only (default 0.25): with the
    /// defaults a latent goes to the nearest of the ideal values 0 (A-only), 0.5 (shared) and 1 (B-only).
    /// </summary>
    public double ExclusiveLow { get; init; } = 0.25;

    /// <summary>A latent with r at least this is B-only (default 0.75).</summary>
    public double ExclusiveHigh { get; init; } = 0.75;

    /// <summary>
    /// Latent scaling: an exclusive latent whose fitted β in the other source is at least this fraction of its β in
    /// its own source explains the other model's activations too and is flagged as only looking exclusive (default 0.5).
    /// </summary>
    public double ScalingRatioFlag { get; init; } = 0.5;

    /// <summary>How many top-activating rows to keep per latent (default 10).</summary>
    public int TopInputs { get; init; } = 10;

    /// <summary>Bins of the relative-norm histogram over [0, 1] (default 20).</summary>
    public int HistogramBins { get; init; } = 20;

    /// <summary>Rows encoded at once (default 4096).</summary>
    public int ChunkRows { get; init; } = 4096;

    /// <summary>Checks every field against the crosscoder's source count.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public ModelDiffOptions Validate(int sourceCount)
    {
        if (SourceA < 0 || SourceA >= sourceCount) throw new SaeSharpException($"is {SourceA}; must be in [0, {sourceCount - 1}]", field: "source_a");
        if (SourceB < 0 || SourceB >= sourceCount || SourceB == SourceA) throw new SaeSharpException($"is {SourceB}; must be in [0, {sourceCount - 1}] and differ from source_a", field: "source_b");
        if (!(ExclusiveLow > 0 && ExclusiveLow < 0.5)) throw new SaeSharpException($"is {ExclusiveLow}; must be in (0, 0.5)", field: "exclusive_low");
        if (!(ExclusiveHigh > 0.5 && ExclusiveHigh < 1)) throw new SaeSharpException($"is {ExclusiveHigh}; must be in (0.5, 1)", field: "exclusive_high");
        if (!(ScalingRatioFlag > 0) || !double.IsFinite(ScalingRatioFlag)) throw new SaeSharpException($"is {ScalingRatioFlag}; must be positive", field: "scaling_ratio_flag");
        if (TopInputs < 0) throw new SaeSharpException($"is {TopInputs}; must be 0 or more", field: "top_inputs");
        if (HistogramBins < 1) throw new SaeSharpException($"is {HistogramBins}; must be at least 1", field: "histogram_bins");
        if (ChunkRows < 1) throw new SaeSharpException($"is {ChunkRows}; must be at least 1", field: "chunk_rows");
        return this;
    }
}
