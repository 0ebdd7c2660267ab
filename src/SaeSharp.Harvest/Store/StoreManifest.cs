using System.Text.Json.Serialization;

namespace SaeSharp.Harvest.Store;

/// <summary>
/// The <c>manifest.json</c> of an activation store (docs/store-format.md describes every field): what was harvested
/// (model, tokenizer, input, context length, batch size, dtype, hooks), the committed shards and the writer's cursor.
/// Read one with <see cref="Read"/>; <see cref="ActivationStoreWriter"/> is the only thing that writes one.
/// </summary>
public sealed record StoreManifest
{
    /// <summary>The value of <see cref="Format"/>.</summary>
    public const string FormatName = "saesharp-activation-store";

    /// <summary>The layout version this library reads and writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Always <see cref="FormatName"/>.</summary>
    public string Format { get; init; } = FormatName;

    /// <summary>Always <see cref="CurrentVersion"/>.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>The model the rows came from.</summary>
    public required StoreFileRef Model { get; init; }

    /// <summary>The tokenizer used with a corpus; null for token ids.</summary>
    public StoreFileRef? Tokenizer { get; init; }

    /// <summary>The input the rows were computed from.</summary>
    public required StoreInput Input { get; init; }

    /// <summary>Tokens per context (corpus), or the longest sequence allowed (token ids).</summary>
    public required int ContextLength { get; init; }

    /// <summary>Sequences per forward pass; part of the store's identity because it fixes the padding.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Stored element type.</summary>
    [JsonPropertyName("dtype")]
    public required StoreDType DType { get; init; }

    /// <summary>Rows of every shard but the last.</summary>
    public required int RowsPerShard { get; init; }

    /// <summary>Tokens the harvest aims for (the input may hold fewer: see <see cref="Rows"/>).</summary>
    public required long TargetTokens { get; init; }

    /// <summary>The hooks, in file order: hook <c>h</c>'s shard files are <c>hook-{h:000}/…</c>.</summary>
    public required IReadOnlyList<StoreHook> Hooks { get; init; }

    /// <summary>Committed rows per hook: the sum of the shards' rows.</summary>
    public long Rows { get; init; }

    /// <summary>Committed shards, in order.</summary>
    public IReadOnlyList<StoreShard> Shards { get; init; } = [];

    /// <summary>Where a continuing writer picks up.</summary>
    public StoreCursor Cursor { get; init; } = new();

    /// <summary>Whether the writer finished; an incomplete store is readable up to <see cref="Rows"/>.</summary>
    public bool Complete { get; init; }

    /// <summary>Which part of a split harvest this store is; null for a store harvested whole (or merged from parts).</summary>
    public StoreHarvestShard? HarvestShard { get; init; }

    /// <summary>
    /// Whether row <c>i</c> of this store and of <paramref name="other"/> come from the same token: the same input,
    /// context length, batch size and tokenizer, and the same row count (the model and the hooks may differ).
    /// </summary>
    public bool RowsAlignWith(StoreManifest other) =>
        Input == other.Input && ContextLength == other.ContextLength && BatchSize == other.BatchSize
        && Tokenizer?.Sha256 == other.Tokenizer?.Sha256 && Rows == other.Rows;

    /// <summary>Reads and checks the manifest of the store folder <paramref name="storePath"/>: every count, width, path and dtype.</summary>
    /// <exception cref="SaeSharpException">No manifest there, or a malformed one (the message names the field).</exception>
    public static StoreManifest Read(string storePath) => StoreManifestFile.Read(System.IO.Path.GetFullPath(storePath));
}
