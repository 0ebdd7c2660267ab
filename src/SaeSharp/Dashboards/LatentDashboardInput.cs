using SaeSharp.Analysis;

namespace SaeSharp.Dashboards;

/// <summary>Everything a latent dashboard shows.</summary>
/// <param name="Latents">The latent activations of N rows (token positions).</param>
/// <param name="Tokens">The token string of each row, N of them, in row order (shown escaped, with spaces and newlines made visible).</param>
public sealed record LatentDashboardInput(LatentActivations Latents, IReadOnlyList<string> Tokens)
{
    /// <summary>The sequence (story, document, context) of each row; a context window never crosses into another (default null: one stream).</summary>
    public IReadOnlyList<int>? SequenceIds { get; init; }

    /// <summary>Decoder and unembedding for the promoted and suppressed tokens (default null: not shown).</summary>
    public DashboardLogits? Logits { get; init; }

    /// <summary>Label scores of the same latents and rows, for each latent's best label (default null: not shown).</summary>
    public LabelScores? Labels { get; init; }

    /// <summary>
    /// A line of text per latent shown under its statistics (default null: none), for what the caller knows about a
    /// latent and the dashboard does not, e.g. a crosscoder latent's decoder norm in each model.
    /// </summary>
    public IReadOnlyDictionary<int, string>? Notes { get; init; }

    /// <summary>What to show and how much.</summary>
    public LatentDashboardOptions Options { get; init; } = new();
}
