using SaeSharp.IO;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SaeSharp.Harvest.Store;

/// <summary>
/// Reads an activation store (docs/store-format.md): the manifest is checked on open, shard files are
/// memory-mapped on first use and their SHA-256 verified then, so a corrupted shard is an error, never silent data.
/// Thread-safe for concurrent reads.
/// </summary>
public sealed class ActivationStore : IDisposable
{
    private readonly StoreManifest _manifest;
    private readonly MappedShard?[,] _mapped;
    private readonly object _gate = new();
    private bool _disposed;

    private ActivationStore(string path, StoreManifest manifest)
    {
        Path = path;
        _manifest = manifest;
        _mapped = new MappedShard?[manifest.Shards.Count, manifest.Hooks.Count];
    }

    /// <summary>The store folder.</summary>
    public string Path { get; }

    /// <summary>Rows per hook (committed).</summary>
    public long Rows => _manifest.Rows;

    /// <summary>The checked manifest: what was harvested, the shards and their checksums.</summary>
    public StoreManifest Manifest => _manifest;

    /// <summary>The hooks, in store order.</summary>
    public IReadOnlyList<StoreHook> Hooks => _manifest.Hooks;

    /// <summary>Stored element type.</summary>
    public StoreDType DType => _manifest.DType;

    /// <summary>Whether the harvest finished (an unfinished store is readable up to its last committed shard).</summary>
    public bool Complete => _manifest.Complete;

    /// <summary>Number of shards.</summary>
    public int ShardCount => _manifest.Shards.Count;

    /// <summary>Rows per full shard.</summary>
    public int RowsPerShard => _manifest.RowsPerShard;

    /// <summary>Context length the store was harvested with.</summary>
    public int ContextLength => _manifest.ContextLength;

    /// <summary>The model file name and SHA-256 recorded at harvest.</summary>
    public (string File, string Sha256) Model => (_manifest.Model.File, _manifest.Model.Sha256);

    /// <summary>Bytes of all shard files.</summary>
    public long ShardBytes => _manifest.Shards.Sum(s => s.Files.Sum(f => f.Bytes));

    /// <summary>Opens a store; checks the manifest and that every shard file exists with its recorded size.</summary>
    /// <exception cref="SaeSharpException">Not a store, a malformed manifest, or a missing or wrongly sized shard file.</exception>
    public static ActivationStore Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full)) throw new SaeSharpException("store folder not found", full);
        var manifest = StoreManifestFile.Read(full);
        foreach (var shard in manifest.Shards)
        {
            foreach (var file in shard.Files)
            {
                var filePath = System.IO.Path.Combine(full, file.Path);
                if (!File.Exists(filePath)) throw new SaeSharpException($"shard {shard.Index} file is missing", filePath);
                long length = new FileInfo(filePath).Length;
                if (length != file.Bytes)
                    throw new SaeSharpException($"shard {shard.Index} file is {length} bytes; the manifest records {file.Bytes} (truncated or replaced?)", filePath);
            }
        }
        return new ActivationStore(full, manifest);
    }

    /// <summary>Index of the hook named <paramref name="name"/> (its name or one of its aliases).</summary>
    /// <exception cref="SaeSharpException">The store has no such hook.</exception>
    public int HookIndex(string name)
    {
        for (int i = 0; i < Hooks.Count; i++) if (Hooks[i].Answers(name)) return i;
        throw new SaeSharpException($"the store has no hook `{name}`; it holds {string.Join(", ", Hooks.Select(h => h.Name))}", Path, "hook");
    }

    /// <summary>Recomputes every shard's SHA-256.</summary>
    /// <exception cref="SaeSharpException">A shard's checksum differs from the manifest's.</exception>
    public void VerifyAll()
    {
        for (int s = 0; s < _manifest.Shards.Count; s++)
            for (int h = 0; h < Hooks.Count; h++)
                Map(s, h);
    }

    /// <summary>Copies rows <c>[start, start + count)</c> of hook <paramref name="hook"/> as float32 into <paramref name="destination"/> (<c>[count, D]</c>).</summary>
    /// <exception cref="SaeSharpException">A shard fails its checksum.</exception>
    public void ReadRows(int hook, long start, int count, Span<float> destination)
    {
        int d = Hooks[hook].D;
        if (start < 0 || count < 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) outside [0, {Rows})");
        if (destination.Length < (long)count * d) throw new ArgumentException("destination too small", nameof(destination));
        while (count > 0)
        {
            int shard = (int)(start / RowsPerShard);
            int offset = (int)(start % RowsPerShard);
            int take = Math.Min(count, _manifest.Shards[shard].Rows - offset);
            CopyRows(Map(shard, hook), offset, take, d, destination[..(take * d)]);
            destination = destination[(take * d)..];
            start += take;
            count -= take;
        }
    }

    /// <summary>Copies one row (global index) of hook <paramref name="hook"/> into <paramref name="destination"/> (<c>[D]</c>).</summary>
    public void ReadRow(int hook, long row, Span<float> destination) => ReadRows(hook, row, 1, destination);

    /// <summary>Mean L2 norm of hook <paramref name="hook"/>'s finite rows (reads, and so verifies, every shard of the hook).</summary>
    public double MeanNorm(int hook) => Statistics(hook).MeanNorm;

    /// <summary>
    /// One pass over hook <paramref name="hook"/>'s rows (reading, and so verifying, every shard of the hook): the mean
    /// norm of its finite rows and how many values are NaN or infinite, so that a store holding them says so rather
    /// than reporting a NaN norm.
    /// </summary>
    public HookStatistics Statistics(int hook)
    {
        int d = Hooks[hook].D;
        const int Block = 4096;
        var bufferND = new float[Block * d];
        double sum = 0;
        long nonFiniteValues = 0, nonFiniteRows = 0;
        for (long start = 0; start < Rows; start += Block)
        {
            int count = (int)Math.Min(Block, Rows - start);
            ReadRows(hook, start, count, bufferND);
            for (int r = 0; r < count; r++)
            {
                double squares = 0;
                foreach (var v in bufferND.AsSpan(r * d, d)) squares += (double)v * v;
                if (double.IsFinite(squares))
                {
                    sum += Math.Sqrt(squares);
                    continue;
                }
                // Rare: count the row's bad values (a finite row whose squares overflow float64 cannot come from float32).
                int bad = 0;
                foreach (var v in bufferND.AsSpan(r * d, d)) if (!float.IsFinite(v)) bad++;
                nonFiniteValues += bad;
                nonFiniteRows++;
            }
        }
        long finiteRows = Rows - nonFiniteRows;
        return new HookStatistics(finiteRows == 0 ? 0 : sum / finiteRows, nonFiniteValues, nonFiniteRows);
    }

    /// <summary>
    /// Writes hook <paramref name="hookName"/> as a safetensors file holding one F32 tensor <c>[Rows, D]</c> named by the
    /// hook, rows in harvest order; written to a temporary name and renamed into place.
    /// </summary>
    /// <exception cref="SaeSharpException">The hook is absent or a shard fails its checksum.</exception>
    public void ExportSafeTensors(string hookName, string path)
    {
        int hook = HookIndex(hookName);
        int d = Hooks[hook].D;
        long dataBytes = Rows * d * 4;
        var header = new System.Text.StringBuilder();
        header.Append('{');
        header.Append(System.Text.Json.JsonSerializer.Serialize(hookName));
        header.Append($":{{\"dtype\":\"F32\",\"shape\":[{Rows},{d}],\"data_offsets\":[0,{dataBytes}]}},");
        header.Append($"\"__metadata__\":{{\"format\":\"pt\",\"saesharp_store_model\":{System.Text.Json.JsonSerializer.Serialize(_manifest.Model.File)}}}}}");
        var headerBytes = System.Text.Encoding.UTF8.GetBytes(header.ToString()).ToList();
        while (headerBytes.Count % 8 != 0) headerBytes.Add((byte)' ');
        SaeSharp.IO.AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Count);
            stream.Write(length);
            stream.Write(headerBytes.ToArray());
            const int Block = 4096;
            var bufferND = new float[Block * d];
            for (long start = 0; start < Rows; start += Block)
            {
                int count = (int)Math.Min(Block, Rows - start);
                ReadRows(hook, start, count, bufferND);
                stream.Write(MemoryMarshal.AsBytes(bufferND.AsSpan(0, count * d)));
            }
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var m in _mapped) m?.Dispose();
        }
    }

    private void CopyRows(MappedShard shard, int offset, int rows, int d, Span<float> destination)
    {
        if (DType == StoreDType.F32)
            shard.Bytes.Slice(offset * d * 4, rows * d * 4).CopyTo(MemoryMarshal.AsBytes(destination));
        else
        {
            var halves = MemoryMarshal.Cast<byte, Half>(shard.Bytes.Slice(offset * d * 2, rows * d * 2));
            for (int i = 0; i < halves.Length; i++) destination[i] = (float)halves[i];
        }
    }

    private MappedShard Map(int shard, int hook)
    {
        var existing = Volatile.Read(ref _mapped[shard, hook]);
        if (existing is not null) return existing;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_mapped[shard, hook] is { } m) return m;
            var file = _manifest.Shards[shard].Files[hook];
            var path = System.IO.Path.Combine(Path, file.Path);
            var mapped = MappedShard.Open(path, file.Bytes);
            var actual = Convert.ToHexStringLower(SHA256.HashData(mapped.Bytes));
            if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                mapped.Dispose();
                throw new SaeSharpException($"shard {shard} of hook {Hooks[hook].Name} is corrupted: its SHA-256 is {actual}, the manifest records {file.Sha256}; re-harvest it", path);
            }
            Volatile.Write(ref _mapped[shard, hook], mapped);
            return mapped;
        }
    }

    private sealed unsafe class MappedShard : IDisposable
    {
        private readonly MemoryMappedFile? _file;
        private readonly MemoryMappedViewAccessor? _view;
        private readonly byte* _pointer;
        private readonly int _length;

        private MappedShard(MemoryMappedFile? file, MemoryMappedViewAccessor? view, byte* pointer, int length)
        {
            _file = file;
            _view = view;
            _pointer = pointer;
            _length = length;
        }

        public ReadOnlySpan<byte> Bytes => new(_pointer, _length);

        public static MappedShard Open(string path, long length)
        {
            if (length > int.MaxValue) throw new SaeSharpException($"shard of {length} bytes exceeds the 2 GiB a shard may have", path);
            if (length == 0) return new MappedShard(null, null, null, 0);
            var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            var view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new MappedShard(file, view, pointer + view.PointerOffset, (int)length);
        }

        public void Dispose()
        {
            if (_view is null) return;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file!.Dispose();
        }
    }
}
