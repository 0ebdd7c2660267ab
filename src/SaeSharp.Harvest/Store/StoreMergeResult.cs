namespace SaeSharp.Harvest.Store;

/// <summary>What <see cref="StoreMerge.Merge"/> wrote.</summary>
/// <param name="StorePath">The merged store (full path).</param>
/// <param name="Rows">Rows per hook: the sum of the parts'.</param>
/// <param name="Parts">Parts merged (the split harvest's worker count).</param>
/// <param name="Shards">Shard files per hook in the merged store.</param>
/// <param name="Labels">Whether the parts carried labels, merged into the store's <c>labels.bin</c>.</param>
public sealed record StoreMergeResult(string StorePath, long Rows, int Parts, int Shards, bool Labels);
