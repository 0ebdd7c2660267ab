using SaeSharp.Harvest.Corpus;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Harvest;

/// <summary>
/// What <see cref="Harvester"/> harvests: a model, its hooks, an input (a tokenized corpus or exact token ids)
/// and the store to write. Either <see cref="CorpusPath"/> with <see cref="TokenizerPath"/>, or <see cref="TokenIdsPath"/>.
/// </summary>
public sealed record HarvestConfig
{
    /// <summary>The ONNX decoder graph.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Hook names (<c>resid_post.3</c>), tensor names, or <c>all</c>.</summary>
    public required IReadOnlyList<string> Hooks { get; init; }

    /// <summary>The store folder to create (or, with <see cref="Resume"/>, to continue).</summary>
    public required string OutputPath { get; init; }

    /// <summary>Tokenizer folder or file (tokenizer.json, or vocab.json with merges.txt beside it), or <c>gpt2</c> for GPT-2's built-in vocabulary (<see cref="Tokenization.Gpt2Tokenizer.Open"/>); needed with a corpus.</summary>
    public string? TokenizerPath { get; init; }

    /// <summary>Corpus file, split according to <see cref="CorpusFormat"/>.</summary>
    public string? CorpusPath { get; init; }

    /// <summary>How the corpus is split into documents; default <see cref="Corpus.CorpusFormat.Text"/>.</summary>
    public CorpusFormat CorpusFormat { get; init; } = CorpusFormat.Text;

    /// <summary>JSON-lines field holding the text; default <c>text</c>.</summary>
    public string TextField { get; init; } = "text";

    /// <summary>A JSON array of token-id arrays: exact inputs instead of a corpus.</summary>
    public string? TokenIdsPath { get; init; }

    /// <summary>Tokens per context (corpus packing), or the longest sequence allowed from a token-id file; default 128.</summary>
    public int ContextLength { get; init; } = 128;

    /// <summary>Tokens to harvest (rows per hook); required with a corpus; null with token ids means all of them.</summary>
    public long? Tokens { get; init; }

    /// <summary>Sequences per forward pass; default 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Stored element type; default float32.</summary>
    public StoreDType DType { get; init; } = StoreDType.F32;

    /// <summary>Rows per shard file; null picks about 64 MiB per hook and shard.</summary>
    public int? RowsPerShard { get; init; }

    /// <summary>Seed of the corpus document order; null reads documents in file order.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Put <c>&lt;|endoftext|&gt;</c> before each document; default false.</summary>
    public bool Bos { get; init; }

    /// <summary>Put <c>&lt;|endoftext|&gt;</c> after each document; default true (GPT-2's convention).</summary>
    public bool Eos { get; init; } = true;

    /// <summary>
    /// Continue the store at <see cref="OutputPath"/> from its manifest (a folder a harvest was stopped in before its
    /// first commit starts from zero).
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Replace a store already at <see cref="OutputPath"/> (its manifest and shards; other files stay); default false.</summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Store NaN and infinite activations instead of stopping at the first one (default false: a model that produces
    /// them stops the harvest with the hook, sequence and position). Values beyond float16's range in an
    /// <see cref="StoreDType.F16"/> store are refused either way.
    /// </summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>
    /// Harvest only this worker's part of the input (<see cref="HarvestShard"/>): a deterministic, disjoint run of whole
    /// batches; the parts merged in index order (<see cref="Store.StoreMerge"/>) equal the whole harvest. Null (the
    /// default) harvests everything.
    /// </summary>
    public HarvestShard? Shard { get; init; }

    /// <summary>ONNX Runtime settings (provider, threads).</summary>
    public OnnxHostOptions Host { get; init; } = new();

    /// <summary>
    /// Throws naming the field when a setting is missing or out of range. Fields are named by their property in
    /// snake_case (<c>tokens</c>, <c>context_length</c>), in <see cref="SaeSharpException.Field"/> and, between
    /// backticks, in the message.
    /// </summary>
    /// <exception cref="SaeSharpException">A field is missing, contradicts another, or is out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath)) throw new SaeSharpException("is required", field: "model_path");
        if (Hooks is null || Hooks.Count == 0) throw new SaeSharpException("name at least one hook (or `all`)", field: "hooks");
        if (string.IsNullOrWhiteSpace(OutputPath)) throw new SaeSharpException("is required", field: "output_path");
        if ((CorpusPath is null) == (TokenIdsPath is null))
            throw new SaeSharpException("give exactly one input: `corpus_path` (with `tokenizer_path`) or `token_ids_path`", field: "corpus_path");
        if (CorpusPath is not null && TokenizerPath is null)
            throw new SaeSharpException("a corpus needs `tokenizer_path`", field: "tokenizer_path");
        if (CorpusPath is not null && Tokens is null)
            throw new SaeSharpException("a corpus needs `tokens` (how many tokens to harvest)", field: "tokens");
        if (Tokens is <= 0) throw new SaeSharpException($"{Tokens} is not positive", field: "tokens");
        if (ContextLength is < 1 or > 1_048_576) throw new SaeSharpException($"{ContextLength} is outside [1, 1048576]", field: "context_length");
        if (BatchSize is < 1 or > 65_536) throw new SaeSharpException($"{BatchSize} is outside [1, 65536]", field: "batch_size");
        if (RowsPerShard is < 1 or > 1 << 26) throw new SaeSharpException($"{RowsPerShard} is outside [1, 67108864]", field: "rows_per_shard");
        if (!Enum.IsDefined(DType)) throw new SaeSharpException($"{DType} is not f32 or f16", field: "dtype");
        if (!Enum.IsDefined(CorpusFormat)) throw new SaeSharpException($"{CorpusFormat} is not a corpus format", field: "corpus_format");
        if (string.IsNullOrEmpty(TextField)) throw new SaeSharpException("is empty", field: "text_field");
        Shard?.Validate();
        if (Resume && Overwrite) throw new SaeSharpException("`resume` continues the store and `overwrite` replaces it; choose one", field: "overwrite");
        Host.Validate();
    }
}
