using System.Text.Json.Serialization;

namespace SaeSharp.Crosscoders;

/// <summary>The shape and sparsity rule of an acausal crosscoder. Immutable; change with <c>with</c>.</summary>
public sealed record CrosscoderConfig
{
    /// <summary>S: how many sources (models or layers) are read and reconstructed (default 2).</summary>
    [JsonPropertyName("n_sources")]
    public int SourceCount { get; init; } = 2;

    /// <summary>D: width of each source's activation rows.</summary>
    [JsonPropertyName("d_in")]
    public int InputDim { get; init; }

    /// <summary>L: dictionary size.</summary>
    [JsonPropertyName("d_sae")]
    public int LatentCount { get; init; }

    /// <summary>Sparsity rule (default BatchTopK).</summary>
    [JsonPropertyName("sparsity")]
    public CrosscoderSparsity Sparsity { get; init; } = CrosscoderSparsity.BatchTopK;

    /// <summary>BatchTopK: mean active latents per row (default 32; unused by L1).</summary>
    [JsonPropertyName("k")]
    public int K { get; init; } = 32;

    /// <summary>BatchTopK: decay of the running inference-threshold estimate (default 0.99).</summary>
    [JsonPropertyName("threshold_decay")]
    public double ThresholdDecay { get; init; } = 0.99;

    /// <summary>
    /// Initial norm of each per-source decoder row (default 0.08, as in Kissane et al.'s open crosscoder for
    /// inputs scaled to mean norm √D): small, so the L1 penalty starts near its mean and no source dominates.
    /// </summary>
    [JsonPropertyName("dec_init_norm")]
    public double DecoderInitNorm { get; init; } = 0.08;

    /// <summary>Names of the sources, in order (optional, S entries when given): model or hook names.</summary>
    [JsonPropertyName("source_names")]
    public IReadOnlyList<string>? SourceNames { get; init; }

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it, its value and the allowed range.</exception>
    public CrosscoderConfig Validate()
    {
        Require(SourceCount >= 1, "n_sources", SourceCount, "at least 1");
        Require(InputDim >= 1, "d_in", InputDim, "at least 1");
        Require(LatentCount >= 1, "d_sae", LatentCount, "at least 1");
        Require(Enum.IsDefined(Sparsity), "sparsity", Sparsity, "L1 or BatchTopK");
        Require(K >= 1 && K <= LatentCount, "k", K, $"in [1, d_sae = {LatentCount}]");
        Require(ThresholdDecay is >= 0 and < 1, "threshold_decay", ThresholdDecay, "in [0, 1)");
        Require(DecoderInitNorm > 0 && double.IsFinite(DecoderInitNorm), "dec_init_norm", DecoderInitNorm, "positive");
        Require(SourceNames is null || SourceNames.Count == SourceCount, "source_names", SourceNames?.Count, $"{SourceCount} names (one per source)");
        return this;
    }

    /// <summary>Source <paramref name="index"/>'s name, or <c>source{index}</c> when none were given.</summary>
    public string SourceName(int index) => SourceNames?[index] ?? $"source{index}";

    private static void Require(bool ok, string field, object? value, string range)
    {
        if (!ok)
            throw new SaeSharpException($"value {value ?? "null"} is out of range: must be {range}", field: field);
    }
}
