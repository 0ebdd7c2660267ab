using SaeSharp.IO;
using System.Runtime.InteropServices;
using SaeSharp.Harvest.Internals;

namespace SaeSharp.Harvest.Store;

/// <summary>
/// The one writer of the activation store format (docs/store-format.md). It holds the store's <c>.lock</c> while
/// open, buffers appended rows per hook and commits every full shard: each hook's shard file is written completely
/// (temporary name, flush, rename), then the manifest naming it is atomically replaced. A writer that dies, or is
/// disposed without <see cref="Finish"/>, loses at most the rows after its last commit; <see cref="Resume"/> continues
/// from the manifest. Not thread-safe: one thread appends.
/// </summary>
public sealed class ActivationStoreWriter : IDisposable
{
    private readonly StoreLock _lock;
    private readonly bool _createdFolder;
    private readonly float[][] _pending;
    private readonly int[] _pendingLength;
    private bool _disposed;

    private ActivationStoreWriter(string path, StoreLock storeLock, StoreManifest manifest, bool createdFolder)
    {
        Path = path;
        _lock = storeLock;
        Manifest = manifest;
        _createdFolder = createdFolder;
        _pending = manifest.Hooks.Select(_ => Array.Empty<float>()).ToArray();
        _pendingLength = new int[manifest.Hooks.Count];
    }

    /// <summary>The store folder (full path).</summary>
    public string Path { get; }

    /// <summary>The manifest as last committed (before the first commit of a new store: the header, not yet on disk).</summary>
    public StoreManifest Manifest { get; private set; }

    /// <summary>Rows appended but not yet committed (fewer than <see cref="StoreManifest.RowsPerShard"/> between calls).</summary>
    public int PendingRows { get; private set; }

    /// <summary>
    /// Starts a new store in <paramref name="path"/>, a new or empty folder, or one a writer left before its first
    /// commit (its leftovers are deleted), or, with <paramref name="overwrite"/>, one holding a store, whose manifest
    /// and shard files are deleted first; other files are left alone. Nothing is
    /// written until the first shard commits; if none does, disposing removes a folder this call created.
    /// </summary>
    /// <param name="path">The store folder.</param>
    /// <param name="header">What the rows are: model, tokenizer, input, context length, batch size, dtype, rows per
    /// shard, target tokens and hooks; no shards, no rows, not complete.</param>
    /// <param name="overwrite">Replace a store already in <paramref name="path"/>.</param>
    /// <exception cref="SaeSharpException">The header is malformed; the path is a file, a folder with other content, or
    /// (without <paramref name="overwrite"/>) holds a store; or another writer holds the lock. Nothing was changed.</exception>
    public static ActivationStoreWriter Create(string path, StoreManifest header, bool overwrite = false)
    {
        var full = System.IO.Path.GetFullPath(path);
        StoreManifestFile.CheckHeader(header, full);
        if (File.Exists(full)) throw new SaeSharpException("is a file, not a folder (nothing was changed)", full);
        bool created = !Directory.Exists(full);
        Directory.CreateDirectory(full);
        StoreLock? storeLock = null;
        try
        {
            storeLock = StoreLock.Acquire(full);
            if (File.Exists(System.IO.Path.Combine(full, StoreManifestFile.FileName)))
            {
                if (!overwrite) throw new SaeSharpException("already holds an activation store; resume it, overwrite it, or choose another folder (nothing was changed)", full);
                DeleteStore(full);
            }
            else if (!HoldsNoCommit(full))
            {
                throw new SaeSharpException("folder exists and is not empty; a new store needs a new or empty folder (nothing was changed)", full);
            }
            else
            {
                DeleteStore(full);
            }
            return new ActivationStoreWriter(full, storeLock, header with { Cursor = new StoreCursor() }, created);
        }
        catch
        {
            storeLock?.Dispose();
            if (created) TryRemoveEmpty(full);
            throw;
        }
    }

    /// <summary>
    /// Reopens the store in <paramref name="path"/> to continue it from its manifest: files an earlier writer left
    /// after its last commit are deleted, and <see cref="Manifest"/>'s cursor says where to pick up. With
    /// <paramref name="header"/>, every field that fixes the rows (model, tokenizer, input, context length, batch size,
    /// dtype, rows per shard, target tokens, hooks) must equal the stored one. A complete store can be reopened but
    /// takes no more rows. A folder whose writer died before its first commit (only the lock, shard files and
    /// temporaries, no manifest) holds no rows: with <paramref name="header"/> the store starts from zero there.
    /// </summary>
    /// <exception cref="SaeSharpException">No store there, a malformed manifest, a header that differs (nothing was
    /// changed), or another writer holds the lock.</exception>
    public static ActivationStoreWriter Resume(string path, StoreManifest? header = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(System.IO.Path.Combine(full, StoreManifestFile.FileName)))
        {
            if (header is not null && HoldsNoCommit(full)) return Create(full, header);
            throw new SaeSharpException("no activation store here to resume (no manifest.json)", full);
        }
        var storeLock = StoreLock.Acquire(full);
        try
        {
            var existing = StoreManifestFile.Read(full);
            if (header is not null) CheckSameRows(existing, header, System.IO.Path.Combine(full, StoreManifestFile.FileName));
            if (!existing.Complete) RemoveUncommitted(full, existing);
            return new ActivationStoreWriter(full, storeLock, existing, createdFolder: false);
        }
        catch
        {
            storeLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends rows to every hook and commits each shard that fills up. <paramref name="rowsByHook"/>[h] holds
    /// <c>[N, D_h]</c> numbers, row-major, the same <c>N</c> for every hook. <paramref name="start"/> is where these
    /// rows come from, for a writer that continues the store later: the position of their batch, and in
    /// <see cref="StoreCursor.SkipRows"/> how many of the batch's rows come before them; a commit inside these rows
    /// records it with <see cref="StoreCursor.SkipRows"/> advanced past the committed ones.
    /// </summary>
    /// <exception cref="ArgumentException">Not one block per hook, or blocks of different row counts.</exception>
    /// <exception cref="InvalidOperationException">The store is complete.</exception>
    public void Append(IReadOnlyList<ReadOnlyMemory<float>> rowsByHook, StoreCursor? start = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Manifest.Complete) throw new InvalidOperationException("the store is complete; it takes no more rows");
        var hooks = Manifest.Hooks;
        if (rowsByHook.Count != hooks.Count)
            throw new ArgumentException($"{rowsByHook.Count} blocks of rows for {hooks.Count} hooks", nameof(rowsByHook));
        int n = rowsByHook[0].Length / hooks[0].D;
        for (int h = 0; h < hooks.Count; h++)
            if (rowsByHook[h].Length != (long)n * hooks[h].D)
                throw new ArgumentException($"hook {hooks[h].Name}: {rowsByHook[h].Length} numbers, not {n} rows × {hooks[h].D}", nameof(rowsByHook));
        for (int h = 0; h < hooks.Count; h++)
        {
            int needed = _pendingLength[h] + rowsByHook[h].Length;
            if (_pending[h].Length < needed)
            {
                var grown = new float[Math.Max(needed, _pending[h].Length * 2)];
                _pending[h].AsSpan(0, _pendingLength[h]).CopyTo(grown);
                _pending[h] = grown;
            }
            rowsByHook[h].Span.CopyTo(_pending[h].AsSpan(_pendingLength[h]));
            _pendingLength[h] = needed;
        }
        PendingRows += n;
        var origin = start ?? new StoreCursor();
        while (PendingRows >= Manifest.RowsPerShard)
        {
            // Rows before this block were pending below one shard, so the shard boundary falls inside this block.
            int leftover = PendingRows - Manifest.RowsPerShard;
            Commit(Manifest.RowsPerShard, origin with { SkipRows = origin.SkipRows + n - leftover }, complete: false);
        }
    }

    /// <summary>Commits the pending rows as the last (shorter) shard and marks the store complete.</summary>
    /// <param name="end">Where the input ended (recorded as the cursor); null keeps an empty cursor.</param>
    /// <exception cref="InvalidOperationException">The store is complete already.</exception>
    public void Finish(StoreCursor? end = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Manifest.Complete) throw new InvalidOperationException("the store is complete already");
        Commit(PendingRows, end ?? new StoreCursor(), complete: true);
    }

    /// <summary>Releases the lock. Rows not committed are dropped; a folder <see cref="Create"/> made and nothing was committed to is removed.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _lock.Dispose();
        if (_createdFolder && !File.Exists(System.IO.Path.Combine(Path, StoreManifestFile.FileName))) TryRemoveEmpty(Path);
    }

    private void Commit(int rows, StoreCursor cursor, bool complete)
    {
        var shards = Manifest.Shards.ToList();
        if (rows > 0)
        {
            int index = shards.Count;
            var files = new List<StoreShardFile>();
            for (int h = 0; h < Manifest.Hooks.Count; h++)
            {
                int d = Manifest.Hooks[h].D;
                var bytes = Encode(_pending[h].AsSpan(0, rows * d), Manifest.DType);
                var relative = $"hook-{h:D3}/shard-{index:D6}.bin";
                AtomicFile.Write(System.IO.Path.Combine(Path, relative), s => s.Write(bytes));
                files.Add(new StoreShardFile(relative, bytes.Length, Sha256File.Of(bytes)));
                // Keep the leftover rows at the front of the buffer.
                _pending[h].AsSpan(rows * d, _pendingLength[h] - rows * d).CopyTo(_pending[h]);
                _pendingLength[h] -= rows * d;
            }
            shards.Add(new StoreShard(index, rows, files));
            PendingRows -= rows;
        }
        var next = Manifest with { Shards = shards, Rows = Manifest.Rows + rows, Cursor = cursor, Complete = complete };
        AtomicFile.WriteAllText(System.IO.Path.Combine(Path, StoreManifestFile.FileName), StoreManifestFile.Serialize(next));
        Manifest = next;
    }

    private static byte[] Encode(ReadOnlySpan<float> values, StoreDType dtype)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the store format is little-endian");
        if (dtype == StoreDType.F32) return MemoryMarshal.AsBytes(values).ToArray();
        var bytes = new byte[values.Length * 2];
        var halves = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
        for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
        return bytes;
    }

    private static void CheckSameRows(StoreManifest stored, StoreManifest now, string manifestPath)
    {
        void Same<T>(T there, T here, string field, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(there, here))
                throw new SaeSharpException($"the store was harvested with a different {what} ({there} there, {here} now); continue it with the same settings or use another folder (nothing was changed)", manifestPath, field);
        }
        static string Hooks(StoreManifest m) => string.Join(",", m.Hooks.Select(h => $"{h.Name}={h.TensorName}:{h.D}"));
        Same(stored.Model.Sha256, now.Model.Sha256, "model", $"model (file {stored.Model.File} vs {now.Model.File}, sha256)");
        Same(stored.Tokenizer?.Sha256, now.Tokenizer?.Sha256, "tokenizer", "tokenizer (sha256)");
        Same(stored.Input.Kind, now.Input.Kind, "input.kind", "input kind");
        Same(stored.Input.Source.Sha256, now.Input.Source.Sha256, "input.source", "input file (sha256)");
        Same(stored.Input with { Source = now.Input.Source }, now.Input, "input", "corpus setting");
        Same(stored.ContextLength, now.ContextLength, "context_length", "context length");
        Same(stored.BatchSize, now.BatchSize, "batch_size", "batch size");
        Same(stored.DType, now.DType, "dtype", "dtype");
        Same(stored.RowsPerShard, now.RowsPerShard, "rows_per_shard", "rows per shard");
        Same(stored.TargetTokens, now.TargetTokens, "target_tokens", "token count");
        Same(Hooks(stored), Hooks(now), "hooks", "hook list");
        Same(stored.HarvestShard, now.HarvestShard, "shard", "part of a split harvest");
    }

    private static void RemoveUncommitted(string storeDir, StoreManifest manifest)
    {
        // Shard files (or temporaries) a killed writer left after its last manifest commit; they will be rewritten.
        var committed = manifest.Shards.SelectMany(s => s.Files).Select(f => System.IO.Path.GetFullPath(System.IO.Path.Combine(storeDir, f.Path))).ToHashSet(StringComparer.Ordinal);
        foreach (var temp in Directory.EnumerateFiles(storeDir, AtomicFile.TemporaryPattern(StoreManifestFile.FileName))) File.Delete(temp);
        foreach (var dir in Directory.EnumerateDirectories(storeDir, "hook-*"))
            foreach (var file in Directory.EnumerateFiles(dir))
                if (!committed.Contains(System.IO.Path.GetFullPath(file))) File.Delete(file);
    }

    /// <summary>
    /// True when <paramref name="storeDir"/> is a folder that holds no committed rows and nothing but what a writer
    /// leaves before its first commit: the lock, manifest temporaries, and <c>hook-*</c> folders of shard files and
    /// their temporaries (an empty folder too). A harvest killed in its first-commit window leaves such a folder.
    /// </summary>
    internal static bool HoldsNoCommit(string storeDir)
    {
        if (!Directory.Exists(storeDir) || File.Exists(System.IO.Path.Combine(storeDir, StoreManifestFile.FileName))) return false;
        foreach (var entry in Directory.EnumerateFileSystemEntries(storeDir))
        {
            var name = System.IO.Path.GetFileName(entry);
            if (File.Exists(entry))
            {
                if (name != StoreLock.FileName && !AtomicFile.IsTemporaryOf(name, StoreManifestFile.FileName)) return false;
            }
            else if (!name.StartsWith("hook-", StringComparison.Ordinal)
                || Directory.EnumerateFileSystemEntries(entry).Any(f => !IsShardFile(System.IO.Path.GetFileName(f)) || !File.Exists(f)))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsShardFile(string name) =>
        (name.StartsWith("shard-", StringComparison.Ordinal) && name.EndsWith(".bin", StringComparison.Ordinal))
        || (name.StartsWith(".shard-", StringComparison.Ordinal) && name.EndsWith(".tmp", StringComparison.Ordinal));

    private static void DeleteStore(string storeDir)
    {
        // The manifest first: from then on the folder holds no store, whatever else survives a crash (a folder
        // without a manifest holds no rows: HoldsNoCommit). Also clears what a writer left before its first commit.
        File.Delete(System.IO.Path.Combine(storeDir, StoreManifestFile.FileName));
        foreach (var temp in Directory.EnumerateFiles(storeDir, AtomicFile.TemporaryPattern(StoreManifestFile.FileName))) File.Delete(temp);
        foreach (var dir in Directory.EnumerateDirectories(storeDir, "hook-*"))
        {
            foreach (var file in Directory.EnumerateFiles(dir)) File.Delete(file);
            if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }
    }

    private static void TryRemoveEmpty(string storeDir)
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(storeDir, "hook-*"))
                if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
            if (Directory.Exists(storeDir) && !Directory.EnumerateFileSystemEntries(storeDir).Any())
                Directory.Delete(storeDir);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
