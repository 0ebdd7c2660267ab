using System.Text.Json;
using System.Text.Json.Serialization;
using SaeSharp.IO;

namespace SaeSharp.Harvest.Store;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(StoreManifest))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;

/// <summary>Serializes and checks <c>manifest.json</c>; every count, width, path and dtype is checked before use.</summary>
internal static class StoreManifestFile
{
    public const string FileName = "manifest.json";

    public static string Serialize(StoreManifest manifest) => JsonSerializer.Serialize(manifest, StoreJsonContext.Default.StoreManifest) + "\n";

    public static StoreManifest Read(string storeDir)
    {
        var path = Path.Combine(storeDir, FileName);
        if (!File.Exists(path))
            throw new SaeSharpException("not an activation store: no manifest.json", storeDir);
        using var document = StrictJson.Parse(StrictJson.ReadUtf8File(path), path);
        // The enum converter also reads numbers ("dtype": 1 is f16) and comma lists; only the names are the format.
        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("dtype", out var dtype)
            && (dtype.ValueKind != JsonValueKind.String || dtype.GetString() is not ("f32" or "f16")))
            throw new SaeSharpException($"{dtype.GetRawText()} is not \"f32\" or \"f16\"", path, "dtype");
        var manifest = StrictJson.Deserialize(document, StoreJsonContext.Default.StoreManifest, path);
        Check(manifest, path);
        return manifest;
    }

    private static void CheckFileRef(StoreFileRef? file, string path, string field, bool required)
    {
        if (file is null)
        {
            if (required) throw new SaeSharpException("missing", path, field);
            return;
        }
        if (string.IsNullOrEmpty(file.File) || file.Sha256 is not { Length: 64 } || file.Bytes < 0)
            throw new SaeSharpException("needs a file name, a byte count and a 64-digit sha256", path, field);
    }

    public static int ElementSize(StoreDType dtype) => dtype == StoreDType.F16 ? 2 : 4;

    /// <summary>Checks what a writer is given to start a store with: a valid header and no shards yet.</summary>
    public static void CheckHeader(StoreManifest m, string storeDir)
    {
        if (m.Rows != 0 || m.Shards is not { Count: 0 } || m.Complete)
            throw new SaeSharpException("a new store's header has no rows, no shards and is not complete", storeDir, "shards");
        if (m.Model is null) throw new SaeSharpException("missing", storeDir, "model");
        if (m.Input?.Source is null) throw new SaeSharpException("missing", storeDir, "input");
        if (m.ContextLength <= 0) throw new SaeSharpException($"{m.ContextLength} is not positive", storeDir, "context_length");
        if (m.BatchSize <= 0) throw new SaeSharpException($"{m.BatchSize} is not positive", storeDir, "batch_size");
        Check(m, storeDir);
    }

    private static void Check(StoreManifest m, string path)
    {
        // Deserialisation leaves a `null` in the file as null even where the type says otherwise.
        CheckFileRef(m.Model, path, "model", required: true);
        CheckFileRef(m.Tokenizer, path, "tokenizer", required: false);
        if (m.Input is null || string.IsNullOrEmpty(m.Input.Kind)) throw new SaeSharpException("missing or without a kind", path, "input");
        CheckFileRef(m.Input.Source, path, "input.source", required: true);
        if (m.Format != StoreManifest.FormatName) throw new SaeSharpException($"format is `{m.Format}`, expected `{StoreManifest.FormatName}`", path, "format");
        if (m.Version != StoreManifest.CurrentVersion) throw new SaeSharpException($"version {m.Version} is not supported (this reader knows {StoreManifest.CurrentVersion})", path, "version");
        if (!Enum.IsDefined(m.DType)) throw new SaeSharpException($"`{m.DType}` is not f32 or f16", path, "dtype");
        if (m.Hooks is null || m.Hooks.Count == 0) throw new SaeSharpException("no hooks", path, "hooks");
        if (m.RowsPerShard <= 0) throw new SaeSharpException($"{m.RowsPerShard} is not positive", path, "rows_per_shard");
        if (m.Shards is null) throw new SaeSharpException("missing", path, "shards");
        foreach (var hook in m.Hooks)
            if (hook is null || string.IsNullOrEmpty(hook.Name) || string.IsNullOrEmpty(hook.TensorName) || hook.D <= 0 || hook.D > 1 << 24
                || (hook.Aliases?.Any(string.IsNullOrEmpty) ?? false))
                throw new SaeSharpException("a hook lacks a name, a tensor or an alias, or has a width outside [1, 16777216]", path, "hooks");
        long rows = 0;
        int elementSize = ElementSize(m.DType);
        for (int s = 0; s < m.Shards.Count; s++)
        {
            var shard = m.Shards[s];
            if (shard is null || shard.Index != s) throw new SaeSharpException($"shard {s} is missing or out of order", path, "shards");
            if (shard.Rows <= 0 || shard.Rows > m.RowsPerShard) throw new SaeSharpException($"shard {s} has {shard.Rows} rows, outside [1, {m.RowsPerShard}]", path, "shards");
            if (shard.Rows != m.RowsPerShard && s != m.Shards.Count - 1) throw new SaeSharpException($"shard {s} is short but not the last", path, "shards");
            if (shard.Files is null || shard.Files.Count != m.Hooks.Count) throw new SaeSharpException($"shard {s} lists {shard.Files?.Count ?? 0} files for {m.Hooks.Count} hooks", path, "shards");
            for (int h = 0; h < m.Hooks.Count; h++)
            {
                var file = shard.Files[h];
                if (file is null || string.IsNullOrEmpty(file.Path) || Path.IsPathRooted(file.Path) || file.Path.Split('/', '\\').Contains(".."))
                    throw new SaeSharpException($"shard {s} hook {h}: file path must be relative and stay inside the store", path, "shards");
                if (file.Bytes != (long)shard.Rows * m.Hooks[h].D * elementSize)
                    throw new SaeSharpException($"shard {s} hook {h}: {file.Bytes} bytes does not equal rows × d × {elementSize}", path, "shards");
                if (file.Sha256 is null || file.Sha256.Length != 64) throw new SaeSharpException($"shard {s} hook {h}: sha256 is not 64 hex digits", path, "shards");
            }
            rows += shard.Rows;
        }
        if (rows != m.Rows) throw new SaeSharpException($"shards hold {rows} rows but the manifest says {m.Rows}", path, "rows");
        if (m.HarvestShard is { } part
            && (part.Count < 1 || part.Index < 0 || part.Index >= part.Count || part.FirstSequence < 0 || part.EndSequence < part.FirstSequence
                || part.FirstRow < 0 || part.CorpusSha256 != m.Input.Source.Sha256))
            throw new SaeSharpException("needs 0 <= index < count, 0 <= first_sequence <= end_sequence, first_row >= 0 and the input's sha256 as corpus_sha256", path, "harvest_shard");
        if (m.Cursor is null || m.Cursor.Sequence < 0 || m.Cursor.SkipRows < 0 || m.Cursor.Document < 0 || m.Cursor.Token < 0) throw new SaeSharpException("cursor is missing or negative", path, "cursor");
    }
}
