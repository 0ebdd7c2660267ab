using SaeSharp.IO;
using System.Diagnostics;
using SaeSharp.Harvest.Corpus;
using SaeSharp.Harvest.Internals;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Harvest.Tokenization;

namespace SaeSharp.Harvest;

/// <summary>
/// Runs a model over its input and hands the hook activations to an <see cref="ActivationStoreWriter"/>
/// (docs/store-format.md): tokenize, run the host, append rows. Rows are stored in harvest order: sequence by
/// sequence, position by position, padding never stored. Each batch's rows are appended with the batch's input
/// position, so a killed harvest resumes from the manifest's cursor and finishes byte-identical to an uninterrupted one.
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
        // Checked before the model loads, so that a wrong folder fails at once.
        bool hasStore = File.Exists(Path.Combine(storeDir, StoreManifestFile.FileName));
        if (config.Resume && !hasStore && !ActivationStoreWriter.HoldsNoCommit(storeDir))
            throw new SaeSharpException("no activation store here to resume (no manifest.json)", storeDir, "resume");
        if (!config.Resume && hasStore && !config.Overwrite)
            throw new SaeSharpException("already holds an activation store; turn on `resume` to continue it, `overwrite` to replace it, or choose another folder (nothing was changed)", storeDir, "output_path");
        var existing = config.Resume && hasStore ? StoreManifest.Read(storeDir) : null;

        var graph = OnnxGraph.Load(config.ModelPath);
        var hooks = HookFinder.Resolve(graph, config.Hooks);
        var residual = hooks.Any(h => h.Kind != "tensor") ? HookFinder.Find(graph) : Array.Empty<HookPoint>();
        using var host = OnnxHost.Open(graph.SourcePath, hooks, config.Host);
        using var source = OpenSource(config, host, out var tokenizerRef, out var input);
        long target = config.Tokens ?? source.TotalTokens!.Value;
        if (config.Tokens is long wanted && source.TotalTokens is long available) target = Math.Min(wanted, available);

        // A worker's part: whole batches of the sequences the single harvest would run (HarvestShard.Sequences).
        StoreHarvestShard? part = null;
        if (config.Shard is { } shard)
        {
            var (first, end) = shard.Sequences(source.PlannedSequences(target, config.ContextLength), config.BatchSize);
            part = new StoreHarvestShard
            {
                Index = shard.Index, Count = shard.Count, CorpusSha256 = input.Source.Sha256,
                FirstSequence = first, EndSequence = end, FirstRow = source.TokensBefore(first, config.ContextLength),
            };
        }

        int elementSize = config.DType == StoreDType.F16 ? 2 : 4;
        var header = new StoreManifest
        {
            Model = FileRef(graph.SourcePath),
            Tokenizer = tokenizerRef,
            Input = input,
            ContextLength = config.ContextLength,
            BatchSize = config.BatchSize,
            DType = config.DType,
            RowsPerShard = config.RowsPerShard ?? existing?.RowsPerShard
                ?? (int)Math.Clamp(TargetShardBytes / ((long)host.HookWidths.Max() * elementSize), 1024, 1 << 26),
            TargetTokens = target,
            Hooks = hooks.Select((h, i) => new StoreHook(h.Name, h.TensorName, host.HookWidths[i]) { Aliases = Aliases(residual, h) }).ToList(),
            HarvestShard = part,
        };
        using var writer = config.Resume ? ActivationStoreWriter.Resume(storeDir, header) : ActivationStoreWriter.Create(storeDir, header, config.Overwrite);
        var manifest = writer.Manifest;
        if (manifest.Complete)
            return new HarvestResult(storeDir, manifest.Rows, manifest.Hooks.Select(h => h.Name).ToArray(), manifest.Shards.Count, true, clock.Elapsed.TotalSeconds, 0);

        var cursor = manifest.Cursor;
        long firstRow = part?.FirstRow ?? 0;
        long endSequence = part?.EndSequence ?? long.MaxValue;
        // Rows are counted over the whole harvest, so a part stops at the same token target the single harvest does.
        long partTarget = part is null ? target : Math.Max(0, Math.Min(target, source.TokensBefore(endSequence, config.ContextLength)) - firstRow);
        if (part is not null && manifest.Rows == 0)
            source.SkipTo(part.FirstSequence, config.ContextLength); // a new part: read past the other workers' sequences
        else
            source.Seek(new CorpusCursor(cursor.Document, cursor.Token), cursor.Sequence);
        long tokensAtBatchStart = firstRow + manifest.Rows - cursor.SkipRows;
        int skip = cursor.SkipRows;
        long tokensThisRun = 0;
        var runClock = Stopwatch.StartNew();
        var batch = new List<int[]>(config.BatchSize);
        var blocks = new ReadOnlyMemory<float>[hooks.Count];
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var batchCursor = source.Cursor;
            long batchSequence = source.Sequence;
            batch.Clear();
            long tokens = tokensAtBatchStart;
            while (batch.Count < config.BatchSize && tokens < target && source.Sequence < endSequence)
            {
                var sequence = source.Next((int)Math.Min(config.ContextLength, target - tokens));
                if (sequence is null) break;
                batch.Add(sequence);
                tokens += sequence.Length;
            }
            if (batch.Count == 0) break;

            var rows = host.Run(batch, cancellation);
            int batchRows = (int)(tokens - tokensAtBatchStart);
            for (int h = 0; h < rows.Length; h++)
            {
                int d = header.Hooks[h].D;
                if (rows[h].Length != batchRows * d)
                    throw new SaeSharpException($"the model returned {rows[h].Length / d} rows for a batch of {batchRows} tokens", field: header.Hooks[h].Name);
                blocks[h] = rows[h].AsMemory(skip * d, (batchRows - skip) * d);
                ActivationCheck.ThrowIfUnstorable(blocks[h].Span, d, config.DType, config.AllowNonFinite, header.Hooks[h].Name,
                    row => Locate(batch, batchSequence, skip + row));
            }
            tokensThisRun += batchRows - skip;
            writer.Append(blocks, new StoreCursor { Sequence = batchSequence, Document = batchCursor.Document, Token = batchCursor.Token, SkipRows = skip });
            skip = 0;
            tokensAtBatchStart = tokens;
            progress?.Report(new HarvestProgress(tokens - firstRow, partTarget, tokensThisRun / Math.Max(1e-9, runClock.Elapsed.TotalSeconds), writer.Manifest.Shards.Count));
        }
        // A part may be empty (more workers than batches, or a corpus that ran out before its sequences).
        if (writer.Manifest.Rows + writer.PendingRows == 0 && part is null)
            throw new SaeSharpException($"the input holds fewer tokens than one context of {config.ContextLength}; nothing harvested",
                config.CorpusPath ?? config.TokenIdsPath, config.CorpusPath is not null ? "corpus_path" : "token_ids_path");
        writer.Finish(new StoreCursor { Sequence = source.Sequence, Document = source.Cursor.Document, Token = source.Cursor.Token });
        var final = writer.Manifest;
        return new HarvestResult(storeDir, final.Rows, final.Hooks.Select(h => h.Name).ToArray(), final.Shards.Count, existing is not null,
            clock.Elapsed.TotalSeconds, tokensThisRun);
    }

    /// <summary>The sequence (counted over the whole input) and position of row <paramref name="row"/> of a batch.</summary>
    private static (long Sequence, int Position) Locate(List<int[]> batch, long firstSequence, int row)
    {
        int b = 0;
        while (row >= batch[b].Length) row -= batch[b++].Length;
        return (firstSequence + b, row);
    }

    private static List<string>? Aliases(IReadOnlyList<HookPoint> residual, HookPoint hook)
    {
        if (hook.Kind == "tensor") return null;
        var others = residual.Where(h => h.TensorName == hook.TensorName && h.Name != hook.Name).Select(h => h.Name).ToList();
        return others.Count == 0 ? null : others;
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
                    throw new SaeSharpException($"sequence {i} has {sequences[i].Length} tokens, more than `context_length` {config.ContextLength}", full, "context_length");
                for (int t = 0; t < sequences[i].Length; t++)
                {
                    int id = sequences[i][t];
                    if (id < 0 || (host.VocabSize is int v && id >= v))
                        throw new SaeSharpException($"sequence {i}, position {t}: token id {id} is outside the model's vocabulary of {host.VocabSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "non-negative"} ids", full, "token_ids_path");
                }
            }
            tokenizerRef = null;
            input = new StoreInput { Kind = "token_ids", Source = FileRef(full) };
            return new TokenIdSource(sequences);
        }

        var tokenizer = Gpt2Tokenizer.Open(config.TokenizerPath!);
        if (host.VocabSize is int vocab && tokenizer.VocabSize > vocab)
            throw new SaeSharpException($"the tokenizer has {tokenizer.VocabSize} ids but the model embeds only {vocab}: tokenizer and model do not belong together",
                tokenizer.Source, "tokenizer_path");
        int? eot = tokenizer.EndOfTextId;
        if ((config.Bos || config.Eos) && eot is null)
            throw new SaeSharpException("the tokenizer has no <|endoftext|> token to put before or after documents (the bos/eos ids); turn both off or use another tokenizer", tokenizer.Source, "tokenizer_path");
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
        // The built-in vocabulary has no file; a fixed fingerprint names it (docs/store-format.md).
        if (path == Gpt2Tokenizer.BuiltInName)
            return new StoreFileRef(Gpt2Tokenizer.BuiltInName, 0, Sha256File.Of(System.Text.Encoding.ASCII.GetBytes("builtin:gpt2")));
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

        /// <summary>Sequences a harvest of <paramref name="target"/> tokens runs (for a corpus: planned, it may run out sooner).</summary>
        public abstract long PlannedSequences(long target, int contextLength);

        /// <summary>Tokens in the sequences before <paramref name="sequence"/> (all whole: only the last one is cut short).</summary>
        public abstract long TokensBefore(long sequence, int contextLength);

        /// <summary>Moves from the start to <paramref name="sequence"/> (or the input's end, if sooner).</summary>
        public abstract void SkipTo(long sequence, int contextLength);
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

        public override long PlannedSequences(long target, int contextLength)
        {
            long tokens = 0;
            for (int i = 0; i < sequences.Length; i++)
            {
                if (tokens >= target) return i;
                tokens += sequences[i].Length;
            }
            return sequences.Length;
        }

        public override long TokensBefore(long sequence, int contextLength)
        {
            long tokens = 0;
            for (long i = 0; i < Math.Min(sequence, sequences.Length); i++) tokens += sequences[i].Length;
            return tokens;
        }

        public override void SkipTo(long sequence, int contextLength) => Sequence = Math.Min(sequence, sequences.Length);

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

        public override long PlannedSequences(long target, int contextLength) => (target + contextLength - 1) / contextLength;

        public override long TokensBefore(long sequence, int contextLength) =>
            sequence >= long.MaxValue / contextLength ? long.MaxValue : sequence * contextLength;

        public override void SkipTo(long sequence, int contextLength)
        {
            // The packer has to tokenize what comes before: contexts cross document boundaries. Tokenizing is far
            // cheaper than the forward pass it skips.
            while (Sequence < sequence && packer.Next(contextLength) is not null) Sequence++;
        }

        public override void Dispose() => corpus.Dispose();
    }
}
