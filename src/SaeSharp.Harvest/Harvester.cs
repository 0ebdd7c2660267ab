using SaeSharp.IO;
using System.Diagnostics;
using System.Runtime.InteropServices;
using SaeSharp.Harvest.Corpus;
using SaeSharp.Harvest.Internals;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Harvest.Tokenization;
using SaeSharp.Internals;

namespace SaeSharp.Harvest;

/// <summary>
/// Runs a model over its input and writes the hook activations into an activation store (docs/store-format.md).
/// Rows are stored in harvest order: sequence by sequence, position by position, padding never stored. A shard
/// becomes part of the store only when its files are complete and the manifest naming it has been atomically
/// replaced; a killed harvest resumes from the manifest and finishes byte-identical to an uninterrupted one.
/// </summary>
public static class Harvester
{
    private const long TargetShardBytes = 64L << 20;

    /// <summary>Harvests (or, with <see cref="HarvestConfig.Resume"/>, continues) a store.</summary>
    /// <exception cref="SaeSharpException">Any input is wrong; nothing the user had is overwritten.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the store stays resumable.</exception>
    public static HarvestResult Run(HarvestConfig config, IProgress<HarvestProgress>? progress = null, CancellationToken cancellation = default)
    {
        config.Validate();
        var clock = Stopwatch.StartNew();
        var storeDir = Path.GetFullPath(config.OutputPath);
        bool created = PrepareFolder(storeDir, config.Resume);
        try
        {
            using var storeLock = StoreLock.Acquire(storeDir);
            return RunLocked(config, storeDir, progress, clock, cancellation);
        }
        catch (SaeSharpException) when (created)
        {
            TryRemoveEmpty(storeDir);
            throw;
        }
    }

    private static HarvestResult RunLocked(HarvestConfig config, string storeDir, IProgress<HarvestProgress>? progress, Stopwatch clock, CancellationToken cancellation)
    {
        var existing = config.Resume ? StoreManifestFile.Read(storeDir) : null;
        var graph = OnnxGraph.Load(config.ModelPath);
        var hooks = HookFinder.Resolve(graph, config.Hooks);
        var residual = hooks.Any(h => h.Kind != "tensor") ? HookFinder.Find(graph) : Array.Empty<HookPoint>();
        using var host = OnnxHost.Open(graph.SourcePath, hooks, config.Host);
        using var source = OpenSource(config, host, out var tokenizerRef, out var input);
        long target = config.Tokens ?? source.TotalTokens!.Value;
        if (config.Tokens is long wanted && source.TotalTokens is long available) target = Math.Min(wanted, available);

        int elementSize = config.DType == StoreDType.F16 ? 2 : 4;
        int rowsPerShard = config.RowsPerShard ?? existing?.RowsPerShard
            ?? (int)Math.Clamp(TargetShardBytes / ((long)host.HookWidths.Max() * elementSize), 1024, 1 << 26);
        var fresh = new StoreManifest
        {
            Model = new StoreFileRef(Path.GetFileName(graph.SourcePath), new FileInfo(graph.SourcePath).Length, Sha256File.Of(graph.SourcePath)),
            Tokenizer = tokenizerRef,
            Input = input,
            ContextLength = config.ContextLength,
            BatchSize = config.BatchSize,
            Dtype = config.DType == StoreDType.F16 ? "f16" : "f32",
            RowsPerShard = rowsPerShard,
            TargetTokens = target,
            Hooks = hooks.Select((h, i) => new StoreHook(h.Name, h.TensorName, host.HookWidths[i]) { Aliases = Aliases(residual, h) }).ToList(),
        };
        var manifest = existing is null ? fresh : CheckSameHarvest(existing, fresh, storeDir);
        if (manifest.Complete)
            return new HarvestResult(storeDir, manifest.Rows, manifest.Hooks.Select(h => h.Name).ToArray(), manifest.Shards.Count, true, clock.Elapsed.TotalSeconds, 0);
        RemoveUncommitted(storeDir, manifest);

        var writer = new ShardWriter(storeDir, manifest, elementSize);
        var cursor = manifest.Cursor;
        source.Seek(new CorpusCursor(cursor.Document, cursor.Token), cursor.Sequence);
        long tokensAtBatchStart = manifest.Rows - cursor.SkipRows;
        int skip = cursor.SkipRows;
        long tokensThisRun = 0;
        var runClock = Stopwatch.StartNew();
        var batch = new List<int[]>(config.BatchSize);
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var batchCursor = source.Cursor;
            long batchSequence = source.Sequence;
            batch.Clear();
            long tokens = tokensAtBatchStart;
            while (batch.Count < config.BatchSize && tokens < target)
            {
                var sequence = source.Next((int)Math.Min(config.ContextLength, target - tokens));
                if (sequence is null) break;
                batch.Add(sequence);
                tokens += sequence.Length;
            }
            if (batch.Count == 0) break;

            var rows = host.Run(batch, cancellation);
            int batchRows = (int)(tokens - tokensAtBatchStart);
            tokensThisRun += batchRows - skip;
            writer.Append(rows, skip, batchRows);
            skip = 0;
            while (writer.PendingRows >= rowsPerShard)
            {
                int leftover = writer.PendingRows - rowsPerShard;
                writer.Commit(rowsPerShard, new StoreCursor
                {
                    Sequence = batchSequence, Document = batchCursor.Document, Token = batchCursor.Token, SkipRows = batchRows - leftover,
                }, complete: false);
            }
            tokensAtBatchStart = tokens;
            progress?.Report(new HarvestProgress(tokens, target, tokensThisRun / Math.Max(1e-9, runClock.Elapsed.TotalSeconds), writer.Manifest.Shards.Count));
        }
        if (writer.Manifest.Rows + writer.PendingRows == 0)
            throw new SaeSharpException($"the input holds fewer tokens than one context of {config.ContextLength}; nothing harvested",
                config.CorpusPath ?? config.TokenIdsPath, "--corpus");
        var end = new StoreCursor { Sequence = source.Sequence, Document = source.Cursor.Document, Token = source.Cursor.Token };
        writer.Commit(writer.PendingRows, end, complete: true);
        var final = writer.Manifest;
        return new HarvestResult(storeDir, final.Rows, final.Hooks.Select(h => h.Name).ToArray(), final.Shards.Count, existing is not null,
            clock.Elapsed.TotalSeconds, tokensThisRun);
    }

    private static List<string>? Aliases(IReadOnlyList<HookPoint> residual, HookPoint hook)
    {
        if (hook.Kind == "tensor") return null;
        var others = residual.Where(h => h.TensorName == hook.TensorName && h.Name != hook.Name).Select(h => h.Name).ToList();
        return others.Count == 0 ? null : others;
    }

    private static bool PrepareFolder(string storeDir, bool resume)
    {
        bool hasManifest = File.Exists(Path.Combine(storeDir, StoreManifestFile.FileName));
        if (resume)
        {
            if (!hasManifest)
                throw new SaeSharpException("--resume: no activation store here (no manifest.json)", storeDir, "--out");
            return false;
        }
        if (hasManifest)
            throw new SaeSharpException("already holds an activation store; pass --resume to continue it, or choose another folder (nothing was changed)", storeDir, "--out");
        if (File.Exists(storeDir))
            throw new SaeSharpException("is a file, not a folder (nothing was changed)", storeDir, "--out");
        if (Directory.Exists(storeDir))
        {
            if (Directory.EnumerateFileSystemEntries(storeDir).Any(e => Path.GetFileName(e) != StoreLock.FileName))
                throw new SaeSharpException("folder exists and is not empty; a new store needs a new or empty folder (nothing was changed)", storeDir, "--out");
            return false;
        }
        Directory.CreateDirectory(storeDir);
        return true;
    }

    private static void TryRemoveEmpty(string storeDir)
    {
        try
        {
            if (Directory.Exists(storeDir) && !Directory.EnumerateFileSystemEntries(storeDir).Any())
                Directory.Delete(storeDir);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static StoreManifest CheckSameHarvest(StoreManifest existing, StoreManifest fresh, string storeDir)
    {
        var path = Path.Combine(storeDir, StoreManifestFile.FileName);
        void Same<T>(T stored, T now, string field, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(stored, now))
                throw new SaeSharpException($"the store was harvested with a different {what} ({stored} there, {now} now); resume with the same settings or use another folder (nothing was changed)", path, field);
        }
        Same(existing.Model.Sha256, fresh.Model.Sha256, "model", $"model (file {existing.Model.File} vs {fresh.Model.File}, sha256)");
        Same(existing.Tokenizer?.Sha256, fresh.Tokenizer?.Sha256, "tokenizer", "tokenizer (sha256)");
        Same(existing.Input.Kind, fresh.Input.Kind, "input.kind", "input kind");
        Same(existing.Input.Source.Sha256, fresh.Input.Source.Sha256, "input.source", "input file (sha256)");
        Same(existing.Input with { Source = fresh.Input.Source }, fresh.Input, "input", "corpus setting");
        Same(existing.ContextLength, fresh.ContextLength, "context_length", "context length");
        Same(existing.BatchSize, fresh.BatchSize, "batch_size", "batch size");
        Same(existing.Dtype, fresh.Dtype, "dtype", "dtype");
        Same(existing.RowsPerShard, fresh.RowsPerShard, "rows_per_shard", "rows per shard");
        Same(existing.TargetTokens, fresh.TargetTokens, "target_tokens", "token count");
        Same(string.Join(",", existing.Hooks), string.Join(",", fresh.Hooks), "hooks", "hook list");
        return existing;
    }

    private static void RemoveUncommitted(string storeDir, StoreManifest manifest)
    {
        // Shard files (or temporaries) a killed run wrote after its last manifest commit; they will be rewritten.
        var committed = manifest.Shards.SelectMany(s => s.Files).Select(f => Path.GetFullPath(Path.Combine(storeDir, f.Path))).ToHashSet(StringComparer.Ordinal);
        foreach (var temp in Directory.EnumerateFiles(storeDir, ".manifest.json.*.tmp")) File.Delete(temp);
        foreach (var dir in Directory.EnumerateDirectories(storeDir, "hook-*"))
            foreach (var file in Directory.EnumerateFiles(dir))
                if (!committed.Contains(Path.GetFullPath(file))) File.Delete(file);
    }

    private static SequenceSource OpenSource(HarvestConfig config, OnnxHost host, out StoreFileRef? tokenizerRef, out StoreInput input)
    {
        if (config.TokenIdsPath is not null)
        {
            var sequences = TokenIdsFile.Read(config.TokenIdsPath);
            var full = Path.GetFullPath(config.TokenIdsPath);
            for (int i = 0; i < sequences.Length; i++)
            {
                if (sequences[i].Length > config.ContextLength)
                    throw new SaeSharpException($"sequence {i} has {sequences[i].Length} tokens, more than --context {config.ContextLength}", full, "--context");
                foreach (var id in sequences[i])
                    if (host.VocabSize is int v && id >= v)
                        throw new SaeSharpException($"sequence {i}: token id {id} is outside the model's vocabulary of {v} ids", full, "--token-ids");
            }
            tokenizerRef = null;
            input = new StoreInput { Kind = "token_ids", Source = FileRef(full) };
            return new TokenIdSource(sequences);
        }

        var tokenizer = Gpt2Tokenizer.Load(config.TokenizerPath!);
        if (host.VocabSize is int vocab && tokenizer.VocabSize > vocab)
            throw new SaeSharpException($"the tokenizer has {tokenizer.VocabSize} ids but the model embeds only {vocab}: tokenizer and model do not belong together",
                tokenizer.Source, "--tokenizer");
        int? eot = tokenizer.EndOfTextId;
        if ((config.Bos || config.Eos) && eot is null)
            throw new SaeSharpException("the tokenizer has no <|endoftext|> token for --bos/--eos; pass --no-eos", tokenizer.Source, "--tokenizer");
        tokenizerRef = TokenizerRef(config.TokenizerPath!);
        var corpus = DocumentCorpus.Open(config.CorpusPath!, config.CorpusFormat, config.TextField);
        var options = new PackingOptions { ContextLength = config.ContextLength, Seed = config.Seed, BosId = config.Bos ? eot : null, EosId = config.Eos ? eot : null };
        input = new StoreInput
        {
            Kind = "corpus", Source = FileRef(corpus.Path), Format = config.CorpusFormat.ToString().ToLowerInvariant(),
            TextField = config.CorpusFormat == CorpusFormat.JsonLines ? config.TextField : null, Seed = config.Seed, BosId = options.BosId, EosId = options.EosId,
        };
        return new PackedCorpusSource(corpus, new ContextPacker(corpus, tokenizer, options));
    }

    private static StoreFileRef FileRef(string path) => new(Path.GetFileName(path), new FileInfo(path).Length, Sha256File.Of(path));

    private static StoreFileRef TokenizerRef(string path)
    {
        var full = Path.GetFullPath(path);
        string[] files = Directory.Exists(full)
            ? (File.Exists(Path.Combine(full, "tokenizer.json")) ? new[] { Path.Combine(full, "tokenizer.json") } : new[] { Path.Combine(full, "vocab.json"), Path.Combine(full, "merges.txt") })
            : Path.GetFileName(full).Equals("vocab.json", StringComparison.OrdinalIgnoreCase) ? new[] { full, Path.Combine(Path.GetDirectoryName(full)!, "merges.txt") } : new[] { full };
        if (files.Length == 1) return FileRef(files[0]);
        var combined = string.Join("\n", files.Select(Sha256File.Of));
        return new StoreFileRef(string.Join("+", files.Select(Path.GetFileName)), files.Sum(f => new FileInfo(f).Length),
            Sha256File.Of(System.Text.Encoding.ASCII.GetBytes(combined)));
    }

    /// <summary>Sequences of token ids with a resumable position.</summary>
    private abstract class SequenceSource : IDisposable
    {
        public abstract CorpusCursor Cursor { get; }
        public long Sequence { get; protected set; }
        public abstract long? TotalTokens { get; }
        public abstract void Seek(CorpusCursor cursor, long sequence);
        public abstract int[]? Next(int maxTokens);
        public virtual void Dispose() { }
    }

    private sealed class TokenIdSource(int[][] sequences) : SequenceSource
    {
        public override CorpusCursor Cursor => new(Sequence, 0);
        public override long? TotalTokens => sequences.Sum(s => (long)s.Length);

        public override void Seek(CorpusCursor cursor, long sequence)
        {
            if (sequence < 0 || sequence > sequences.Length || cursor.Document != sequence)
                throw new SaeSharpException($"stored cursor (sequence {sequence}) does not fit the {sequences.Length}-sequence token-id file", field: "cursor");
            Sequence = sequence;
        }

        public override int[]? Next(int maxTokens)
        {
            if (Sequence >= sequences.Length) return null;
            var s = sequences[Sequence++];
            return s.Length <= maxTokens ? s : s[..maxTokens];
        }
    }

    private sealed class PackedCorpusSource(DocumentCorpus corpus, ContextPacker packer) : SequenceSource
    {
        public override CorpusCursor Cursor => packer.Cursor;
        public override long? TotalTokens => null;

        public override void Seek(CorpusCursor cursor, long sequence)
        {
            packer.Seek(cursor);
            Sequence = sequence;
        }

        public override int[]? Next(int maxTokens)
        {
            var context = packer.Next(Math.Min(maxTokens, packer.Options.ContextLength));
            if (context is not null) Sequence++;
            return context;
        }

        public override void Dispose() => corpus.Dispose();
    }

    /// <summary>Buffers rows per hook and commits whole shards: files first (temp, flush, rename), then the manifest.</summary>
    private sealed class ShardWriter(string storeDir, StoreManifest manifest, int elementSize)
    {
        private readonly List<float[]> _pending = manifest.Hooks.Select(_ => Array.Empty<float>()).ToList();
        private readonly int[] _pendingLength = new int[manifest.Hooks.Count];

        public StoreManifest Manifest { get; private set; } = manifest;
        public int PendingRows { get; private set; }

        public void Append(float[][] rows, int skipRows, int batchRows)
        {
            for (int h = 0; h < rows.Length; h++)
            {
                int d = Manifest.Hooks[h].D;
                int start = skipRows * d, count = (batchRows - skipRows) * d;
                if (rows[h].Length != batchRows * d)
                    throw new SaeSharpException($"the model returned {rows[h].Length / d} rows for a batch of {batchRows} tokens", field: Manifest.Hooks[h].Name);
                int needed = _pendingLength[h] + count;
                if (_pending[h].Length < needed)
                {
                    var grown = new float[Math.Max(needed, _pending[h].Length * 2)];
                    _pending[h].AsSpan(0, _pendingLength[h]).CopyTo(grown);
                    _pending[h] = grown;
                }
                rows[h].AsSpan(start, count).CopyTo(_pending[h].AsSpan(_pendingLength[h]));
                _pendingLength[h] = needed;
            }
            PendingRows += batchRows - skipRows;
        }

        public void Commit(int rows, StoreCursor cursor, bool complete)
        {
            var shards = Manifest.Shards.ToList();
            if (rows > 0)
            {
                int index = shards.Count;
                var files = new List<StoreShardFile>();
                for (int h = 0; h < Manifest.Hooks.Count; h++)
                {
                    int d = Manifest.Hooks[h].D;
                    var bytes = Encode(_pending[h].AsSpan(0, rows * d));
                    var relative = $"hook-{h:D3}/shard-{index:D6}.bin";
                    var full = Path.Combine(storeDir, relative);
                    Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                    AtomicFile.Write(full, s => s.Write(bytes));
                    files.Add(new StoreShardFile(relative, bytes.Length, Sha256File.Of(bytes)));
                    // Keep the leftover rows at the front of the buffer.
                    _pending[h].AsSpan(rows * d, _pendingLength[h] - rows * d).CopyTo(_pending[h]);
                    _pendingLength[h] -= rows * d;
                }
                shards.Add(new StoreShard(index, rows, files));
                PendingRows -= rows;
            }
            Manifest = Manifest with { Shards = shards, Rows = Manifest.Rows + rows, Cursor = cursor, Complete = complete };
            AtomicFile.WriteAllText(Path.Combine(storeDir, StoreManifestFile.FileName), StoreManifestFile.Serialize(Manifest));
        }

        private byte[] Encode(ReadOnlySpan<float> values)
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the store format is little-endian");
            if (elementSize == 4) return MemoryMarshal.AsBytes(values).ToArray();
            var bytes = new byte[values.Length * 2];
            var halves = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
            for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
            return bytes;
        }
    }
}
