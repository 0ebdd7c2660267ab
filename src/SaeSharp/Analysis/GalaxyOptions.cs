namespace SaeSharp.Analysis;

/// <summary>How <see cref="GalaxyGeometry"/> fits the spectrum and estimates entropy. Immutable; change with <c>with</c>.</summary>
public sealed record GalaxyOptions
{
    /// <summary>
    /// First 1-based eigenvalue rank of the power-law fit, or null for the automatic range: with r = min(D, L − 1)
    /// the covariance's possible rank, first = min(10, max(2, round(r / 20))) and last = min(150, r / 2), which is the
    /// paper's 10 to 150 once r ≥ 300 and skips the head and the tail of smaller clouds alike.
    /// </summary>
    public int? FirstRank { get; init; }

    /// <summary>Last 1-based eigenvalue rank of the fit (inclusive), or null for the automatic range.</summary>
    public int? LastRank { get; init; }

    /// <summary>Two-sided confidence level of the slope's interval (default 0.95).</summary>
    public double Confidence { get; init; } = 0.95;

    /// <summary>Principal components kept for the clustering entropy (default 100, the paper's; fewer when D or L − 1 is smaller).</summary>
    public int EntropyDimensions { get; init; } = 100;

    /// <summary>Seed of the isotropic baseline cloud (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public GalaxyOptions Validate()
    {
        if (FirstRank is < 1) throw new SaeSharpException($"first rank {FirstRank} must be at least 1", field: "first_rank");
        if (FirstRank is int first && LastRank is int last && last < first + 2)
            throw new SaeSharpException($"rank range [{first}, {last}] must hold at least 3 ranks for a slope with an interval", field: "last_rank");
        if (LastRank is < 3) throw new SaeSharpException($"last rank {LastRank} must be at least 3", field: "last_rank");
        if (!(Confidence > 0 && Confidence < 1)) throw new SaeSharpException($"confidence {Confidence} must be in (0, 1)", field: "confidence");
        if (EntropyDimensions < 1) throw new SaeSharpException($"entropy dimensions {EntropyDimensions} must be at least 1", field: "entropy_dimensions");
        return this;
    }
}
