namespace SaeSharp.Harvest.Store;

/// <summary>
/// Joins the stores of a split harvest (each written by one worker with <see cref="HarvestConfig.Shard"/>) into one
/// store equal to the single-process harvest: its rows are the parts' rows in part-index order, re-cut into shards of
/// the same <see cref="StoreManifest.RowsPerShard"/>, so the shard files and the manifest are those a single harvest
/// writes (docs/store-format.md, "Sharded harvests"). The parts must all come from one harvest (the same model,
/// hooks, dtype, context, batch size, shard size, tokenizer, input and worker count), be complete, and cover every
/// index exactly once; anything else is refused before anything is written.
/// </summary>
public static class StoreMerge
{
    /// <summary>Checks the parts and writes the merged store to <paramref name="outputPath"/> (and its labels when every part has them).</summary>
    /// <param name="parts">The parts' store folders, in any order.</param>
    /// <param name="outputPath">A new or empty folder, or (with <paramref name="overwrite"/>) one holding a store.</param>
    /// <param name="overwrite">Replace a store already at <paramref name="outputPath"/>.</param>
    /// <exception cref="SaeSharpException">A part is missing, repeated, unfinished, not a part, or from another harvest;
    /// a part's file is corrupt; or the output is taken. The message names the store and the field.</exception>
    public static StoreMergeResult Merge(IReadOnlyList<string> parts, string outputPath, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new SaeSharpException("name the stores of every part to merge", field: "parts");
        var output = Path.GetFullPath(outputPath);
        var byIndex = CheckParts(parts.Select(Path.GetFullPath).ToList(), output);
        var first = byIndex[0].Manifest;

        bool labelled = File.Exists(Path.Combine(byIndex[0].Path, StoreLabels.FileName));
        var labels = new List<StoreLabels>();
        foreach (var (path, manifest) in byIndex)
        {
            if (File.Exists(Path.Combine(path, StoreLabels.FileName)) != labelled)
                throw new SaeSharpException($"labels.bin is {(labelled ? "missing here but present" : "present here but missing")} in part 0 ({byIndex[0].Path}); label every part or none", path, "labels");
            if (labelled) labels.Add(StoreLabels.Read(path));
        }
        if (labelled && labels.Any(l => !l.Names.SequenceEqual(labels[0].Names, StringComparer.Ordinal)))
            throw new SaeSharpException("the parts' label files name different labels; label every part with the same list", byIndex[0].Path, "labels");
        if (labelled && labels[0].Names.Count > 64)
            throw new SaeSharpException($"{labels[0].Names.Count} labels; merging handles at most 64 (one bitset word per row)", byIndex[0].Path, "labels");

        var header = first with { HarvestShard = null, Rows = 0, Shards = [], Cursor = new StoreCursor(), Complete = false };
        int shardRows = first.RowsPerShard;
        using (var writer = ActivationStoreWriter.Create(output, header, overwrite))
        {
            var blocks = new ReadOnlyMemory<float>[first.Hooks.Count];
            var buffers = first.Hooks.Select(h => new float[(long)shardRows * h.D]).ToArray();
            foreach (var (path, _) in byIndex)
            {
                using var store = ActivationStore.Open(path);
                for (long row = 0; row < store.Rows; row += shardRows)
                {
                    int count = (int)Math.Min(shardRows, store.Rows - row);
                    for (int h = 0; h < blocks.Length; h++)
                    {
                        store.ReadRows(h, row, count, buffers[h]);
                        blocks[h] = buffers[h].AsMemory(0, count * first.Hooks[h].D);
                    }
                    writer.Append(blocks);
                }
            }
            // The last part's end is where the single harvest's input ended.
            writer.Finish(byIndex[^1].Manifest.Cursor);
        }
        if (labelled)
        {
            var sequences = new List<IReadOnlyList<ulong>>();
            foreach (var part in labels)
            {
                long row = 0;
                foreach (int length in part.SequenceLengths)
                {
                    var words = new ulong[length];
                    for (int t = 0; t < length; t++) words[t] = part.FirstWord(row + t);
                    sequences.Add(words);
                    row += length;
                }
            }
            StoreLabels.Write(output, labels[0].Names, sequences, overwrite);
        }
        var merged = StoreManifest.Read(output);
        return new StoreMergeResult(output, merged.Rows, byIndex.Count, merged.Shards.Count, labelled);
    }

    private static List<(string Path, StoreManifest Manifest)> CheckParts(List<string> paths, string output)
    {
        foreach (var path in paths)
            if (string.Equals(path.TrimEnd(Path.DirectorySeparatorChar), output.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
                throw new SaeSharpException("is one of the parts; merge into another folder", output, "output_path");
        var read = paths.Select(p => (Path: p, Manifest: StoreManifest.Read(p))).ToList();
        foreach (var (path, m) in read)
        {
            if (m.HarvestShard is null)
                throw new SaeSharpException("was harvested whole, not as one part of a split harvest (harvest with a shard index and count to split one)", path, "harvest_shard");
            if (!m.Complete)
                throw new SaeSharpException($"part {m.HarvestShard.Index} is unfinished ({m.Rows} rows committed); resume its harvest first", path, "complete");
        }
        var (firstPath, first) = read[0];
        static string Hooks(StoreManifest m) => string.Join(", ", m.Hooks.Select(h => $"{h.Name}={h.TensorName}:{h.D}{(h.Aliases is null ? "" : "/" + string.Join("/", h.Aliases))}"));
        foreach (var (path, m) in read.Skip(1))
        {
            void Same<T>(T there, T here, string field, string what)
            {
                if (!EqualityComparer<T>.Default.Equals(there, here))
                    throw new SaeSharpException($"comes from a different {what} than {firstPath} ({here} here, {there} there); merge parts of one harvest only", path, field);
            }
            Same(first.Model.Sha256, m.Model.Sha256, "model", "model (sha256)");
            Same(Hooks(first), Hooks(m), "hooks", "hook list");
            Same(first.DType, m.DType, "dtype", "dtype");
            Same(first.ContextLength, m.ContextLength, "context_length", "context length");
            Same(first.BatchSize, m.BatchSize, "batch_size", "batch size");
            Same(first.RowsPerShard, m.RowsPerShard, "rows_per_shard", "rows per shard");
            Same(first.Tokenizer?.Sha256, m.Tokenizer?.Sha256, "tokenizer", "tokenizer (sha256)");
            Same(first.HarvestShard!.CorpusSha256, m.HarvestShard!.CorpusSha256, "harvest_shard.corpus_sha256", "corpus (sha256)");
            Same(first.Input with { Source = m.Input.Source }, m.Input, "input", "corpus setting (format, seed, bos/eos)");
            Same(first.TargetTokens, m.TargetTokens, "target_tokens", "token count");
            Same(first.HarvestShard.Count, m.HarvestShard.Count, "harvest_shard.count", "worker count");
            Same(first.Model.File, m.Model.File, "model", "model file name");
        }
        int count = first.HarvestShard!.Count;
        var byIndex = new (string Path, StoreManifest Manifest)?[count];
        foreach (var part in read)
        {
            int index = part.Manifest.HarvestShard!.Index;
            if (byIndex[index] is { } earlier)
                throw new SaeSharpException($"part {index} of {count} is given twice (also {earlier.Path}); give each part once", part.Path, "harvest_shard.index");
            byIndex[index] = part;
        }
        var missing = Enumerable.Range(0, count).Where(i => byIndex[i] is null).ToList();
        if (missing.Count > 0)
            throw new SaeSharpException($"part{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} of {count} {(missing.Count > 1 ? "are" : "is")} missing; every part of the harvest is needed (harvest the missing ones with the same command and their index)", firstPath, "harvest_shard.index");
        var ordered = byIndex.Select(p => p!.Value).ToList();
        long rows = 0, sequence = 0;
        foreach (var (path, m) in ordered)
        {
            var part = m.HarvestShard!;
            if (part.FirstSequence != sequence || (m.Rows > 0 && part.FirstRow != rows))
                throw new SaeSharpException($"part {part.Index} starts at sequence {part.FirstSequence}, row {part.FirstRow}, but the parts before it end at sequence {sequence}, row {rows}", path, "harvest_shard");
            sequence = part.EndSequence;
            rows += m.Rows;
        }
        if (rows == 0) throw new SaeSharpException("every part is empty; there are no rows to merge", firstPath, "rows");
        return ordered;
    }
}
