namespace SaeSharp.Harvest.Corpus;

/// <summary>How documents are packed into fixed-length contexts.</summary>
public sealed record PackingOptions
{
    /// <summary>Tokens per context; default 128.</summary>
    public int ContextLength { get; init; } = 128;

    /// <summary>Token id put before every document, or null (default) for none.</summary>
    public int? BosId { get; init; }

    /// <summary>Token id put after every document, or null for none; GPT-2-style corpora use <c>&lt;|endoftext|&gt;</c>.</summary>
    public int? EosId { get; init; }

    /// <summary>Seed of the document order; null (default) reads documents in file order.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Throws naming the field when a setting is out of range.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public void Validate()
    {
        if (ContextLength is < 1 or > 1_048_576)
            throw new SaeSharpException($"{ContextLength} is outside [1, 1048576]", field: nameof(ContextLength));
        if (BosId < 0) throw new SaeSharpException($"{BosId} is negative", field: nameof(BosId));
        if (EosId < 0) throw new SaeSharpException($"{EosId} is negative", field: nameof(EosId));
    }
}
