namespace SaeSharp.Harvest.Store;

/// <summary>
/// What an activation store's rows were computed from: a token-id file, or a corpus with the settings that fix how
/// it was cut into contexts. Two stores with equal inputs (and equal context length and batch size) hold the same
/// tokens in the same order.
/// </summary>
public sealed record StoreInput
{
    /// <summary><c>corpus</c> or <c>token_ids</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>The corpus or token-id file.</summary>
    public required StoreFileRef Source { get; init; }

    /// <summary>Corpus split: <c>text</c>, <c>jsonlines</c> or <c>lines</c>; null for token ids.</summary>
    public string? Format { get; init; }

    /// <summary>JSON-lines field holding the text; null otherwise.</summary>
    public string? TextField { get; init; }

    /// <summary>Seed of the document order; null reads documents in file order.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Token id put before every document; null for none.</summary>
    public int? BosId { get; init; }

    /// <summary>Token id put after every document; null for none.</summary>
    public int? EosId { get; init; }
}
