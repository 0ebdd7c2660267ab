using System.Text.Json;
using System.Text.Json.Serialization;

namespace SaeSharp.Harvest.Store;

// The manifest.json of an activation store; docs/store-format.md describes every field.

internal sealed record StoreManifest
{
    public const string FormatName = "saesharp-activation-store";
    public const int CurrentVersion = 1;

    public string Format { get; init; } = FormatName;
    public int Version { get; init; } = CurrentVersion;
    public required StoreFileRef Model { get; init; }
    public StoreFileRef? Tokenizer { get; init; }
    public required StoreInput Input { get; init; }
    public required int ContextLength { get; init; }
    public required int BatchSize { get; init; }
    public required string Dtype { get; init; }
    public required int RowsPerShard { get; init; }
    public required long TargetTokens { get; init; }
    public required List<StoreHook> Hooks { get; init; }
    public long Rows { get; init; }
    public List<StoreShard> Shards { get; init; } = new();
    public StoreCursor Cursor { get; init; } = new();
    public bool Complete { get; init; }
}

internal sealed record StoreFileRef(string File, long Bytes, string Sha256);

internal sealed record StoreInput
{
    /// <summary><c>corpus</c> or <c>token_ids</c>.</summary>
    public required string Kind { get; init; }
    public required StoreFileRef Source { get; init; }
    public string? Format { get; init; }
    public string? TextField { get; init; }
    public ulong? Seed { get; init; }
    public int? BosId { get; init; }
    public int? EosId { get; init; }
}

internal sealed record StoreHook(string Name, string Tensor, int D)
{
    /// <summary>Other hook names of the same tensor (<c>resid_pre.(i+1)</c> for <c>resid_post.i</c>); absent when none.</summary>
    public List<string>? Aliases { get; init; }

    public bool Answers(string name) => Name == name || (Aliases?.Contains(name) ?? false);

    public override string ToString() => $"{Name}={Tensor}:{D}";
}

internal sealed record StoreShard(int Index, int Rows, List<StoreShardFile> Files);

internal sealed record StoreShardFile(string Path, long Bytes, string Sha256);

/// <summary>Where a resumed harvest continues: the batch holding the first uncommitted row and how many of its rows are stored already.</summary>
internal sealed record StoreCursor
{
    public long Sequence { get; init; }
    public long Document { get; init; }
    public int Token { get; init; }
    public int SkipRows { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(StoreManifest))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;

internal static class StoreManifestFile
{
    public const string FileName = "manifest.json";

    public static string Serialize(StoreManifest manifest) => JsonSerializer.Serialize(manifest, StoreJsonContext.Default.StoreManifest) + "\n";

    /// <summary>Reads and checks a manifest; every count, width, path and dtype is checked before use.</summary>
    public static StoreManifest Read(string storeDir)
    {
        var path = System.IO.Path.Combine(storeDir, FileName);
        if (!File.Exists(path))
            throw new SaeSharpException("not an activation store: no manifest.json", storeDir);
        StoreManifest? manifest;
        try { manifest = JsonSerializer.Deserialize(File.ReadAllBytes(path), StoreJsonContext.Default.StoreManifest); }
        catch (JsonException e) { throw new SaeSharpException($"manifest is not valid: {e.Message}", path, inner: e); }
        if (manifest is null) throw new SaeSharpException("manifest is null", path);
        Check(manifest, path);
        return manifest;
    }

    public static int ElementSize(string dtype) => dtype switch
    {
        "f32" => 4,
        "f16" => 2,
        _ => throw new SaeSharpException($"dtype `{dtype}` is not f32 or f16", field: "dtype"),
    };

    private static void Check(StoreManifest m, string path)
    {
        if (m.Format != StoreManifest.FormatName) throw new SaeSharpException($"format is `{m.Format}`, expected `{StoreManifest.FormatName}`", path, "format");
        if (m.Version != StoreManifest.CurrentVersion) throw new SaeSharpException($"version {m.Version} is not supported (this reader knows {StoreManifest.CurrentVersion})", path, "version");
        if (m.Dtype is not ("f32" or "f16")) throw new SaeSharpException($"`{m.Dtype}` is not f32 or f16", path, "dtype");
        if (m.Hooks is null || m.Hooks.Count == 0) throw new SaeSharpException("no hooks", path, "hooks");
        if (m.RowsPerShard <= 0) throw new SaeSharpException($"{m.RowsPerShard} is not positive", path, "rows_per_shard");
        if (m.Shards is null) throw new SaeSharpException("missing", path, "shards");
        foreach (var hook in m.Hooks)
            if (hook is null || string.IsNullOrEmpty(hook.Name) || hook.D <= 0 || hook.D > 1 << 24)
                throw new SaeSharpException("a hook lacks a name or has a width outside [1, 16777216]", path, "hooks");
        long rows = 0;
        int elementSize = ElementSize(m.Dtype);
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
                if (file is null || string.IsNullOrEmpty(file.Path) || System.IO.Path.IsPathRooted(file.Path) || file.Path.Split('/', '\\').Contains(".."))
                    throw new SaeSharpException($"shard {s} hook {h}: file path must be relative and stay inside the store", path, "shards");
                if (file.Bytes != (long)shard.Rows * m.Hooks[h].D * elementSize)
                    throw new SaeSharpException($"shard {s} hook {h}: {file.Bytes} bytes does not equal rows × d × {elementSize}", path, "shards");
                if (file.Sha256 is null || file.Sha256.Length != 64) throw new SaeSharpException($"shard {s} hook {h}: sha256 is not 64 hex digits", path, "shards");
            }
            rows += shard.Rows;
        }
        if (rows != m.Rows) throw new SaeSharpException($"shards hold {rows} rows but the manifest says {m.Rows}", path, "rows");
        if (m.Cursor is null || m.Cursor.Sequence < 0 || m.Cursor.SkipRows < 0) throw new SaeSharpException("cursor is missing or negative", path, "cursor");
    }
}
