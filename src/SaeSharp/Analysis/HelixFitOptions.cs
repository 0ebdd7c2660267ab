namespace SaeSharp.Analysis;

/// <summary>How <see cref="HelixFit"/> splits the numbers and draws its baselines. Immutable; change with <c>with</c>.</summary>
public sealed record HelixFitOptions
{
    /// <summary>
    /// Share of the distinct numbers held out (default 0.2, at least one): every row of a held-out number scores the fits and
    /// none fits them, so R² measures how the fit carries to numbers it has not seen.
    /// </summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Whether the basis has the linear term a beside the constant and the waves (default true, as in the paper).</summary>
    public bool IncludeLinear { get; init; } = true;

    /// <summary>How many sets of random periods the random-period baseline averages over (default 10; 0 for none).</summary>
    public int RandomPeriodTrials { get; init; } = 10;

    /// <summary>The smallest random period (default 2: a shorter period on integers aliases to a longer one).</summary>
    public double RandomPeriodMin { get; init; } = 2;

    /// <summary>The largest random period; null (default) for the numbers' span, max − min + 1.</summary>
    public double? RandomPeriodMax { get; init; }

    /// <summary>
    /// Periods the random-period baseline draws from (without replacement) instead of the uniform range; null (default)
    /// for the range. On a cyclic group Z_p the natural null is p / f for frequencies f other than the fitted ones: a
    /// period that does not divide the group's length fits noise between the numbers and scores far below zero.
    /// </summary>
    public IReadOnlyList<double>? RandomPeriodCandidates { get; init; }

    /// <summary>Relative cut-off on singular values below which a basis direction counts as absent (default 1e-10).</summary>
    public double RankTolerance { get; init; } = 1e-10;

    /// <summary>Seeds the split of the numbers and the random periods (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it.</exception>
    public HelixFitOptions Validate()
    {
        if (!(TestFraction > 0 && TestFraction < 1))
            throw new SaeSharpException($"is {TestFraction}; must lie in (0, 1)", field: "test_fraction");
        if (RandomPeriodTrials < 0)
            throw new SaeSharpException($"is {RandomPeriodTrials}; must be ≥ 0", field: "random_period_trials");
        if (!(RandomPeriodMin > 0) || double.IsInfinity(RandomPeriodMin))
            throw new SaeSharpException($"is {RandomPeriodMin}; must be positive and finite", field: "random_period_min");
        if (RandomPeriodMax is { } max && (!(max > RandomPeriodMin) || double.IsInfinity(max)))
            throw new SaeSharpException($"is {max}; must be finite and above random_period_min {RandomPeriodMin}", field: "random_period_max");
        if (!(RankTolerance > 0 && RankTolerance < 1))
            throw new SaeSharpException($"is {RankTolerance}; must lie in (0, 1)", field: "rank_tolerance");
        return this;
    }
}
