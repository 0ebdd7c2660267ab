namespace SaeSharp.Dashboards;

/// <summary>What a latent dashboard shows and how much of it. Immutable; change with <c>with</c>.</summary>
public sealed record LatentDashboardOptions
{
    /// <summary>Heading of the page (default "SAE latent dashboard").</summary>
    public string Title { get; init; } = "SAE latent dashboard";

    /// <summary>Latents shown, at most 2000 (default 50): the first by <see cref="Order"/>, or all of <see cref="Latents"/>. The page grows by about 15 KB per latent at the default sizes.</summary>
    public int LatentCount { get; init; } = 50;

    /// <summary>Which latents come first (default <see cref="LatentOrder.Density"/>).</summary>
    public LatentOrder Order { get; init; } = LatentOrder.Density;

    /// <summary>Show exactly these latents in this order instead (default null: chosen by <see cref="Order"/>).</summary>
    public IReadOnlyList<int>? Latents { get; init; }

    /// <summary>Top-activating contexts per latent, 1 to 100 (default 10).</summary>
    public int ContextsPerLatent { get; init; } = 10;

    /// <summary>Tokens shown before the maximum of a context, 0 to 64 (default 10).</summary>
    public int TokensBefore { get; init; } = 10;

    /// <summary>Tokens shown after it, 0 to 64 (default 4).</summary>
    public int TokensAfter { get; init; } = 4;

    /// <summary>Bars of the activation histogram, 2 to 200 (default 40).</summary>
    public int HistogramBins { get; init; } = 40;

    /// <summary>Promoted and suppressed tokens listed each, 1 to 100 (default 10).</summary>
    public int LogitTokens { get; init; } = 10;

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public LatentDashboardOptions Validate()
    {
        Check(LatentCount, 1, 2000, "latent_count");
        Check(ContextsPerLatent, 1, 100, "contexts_per_latent");
        Check(TokensBefore, 0, 64, "tokens_before");
        Check(TokensAfter, 0, 64, "tokens_after");
        Check(HistogramBins, 2, 200, "histogram_bins");
        Check(LogitTokens, 1, 100, "logit_tokens");
        if (Title is null) throw new SaeSharpException("the title must not be null", field: "title");
        if (Latents is { Count: > 2000 }) throw new SaeSharpException($"{Latents.Count} latents listed; at most 2000", field: "latents");
        return this;
    }

    private static void Check(int value, int min, int max, string field)
    {
        if (value < min || value > max) throw new SaeSharpException($"{field} = {value} must be in [{min}, {max}]", field: field);
    }
}
