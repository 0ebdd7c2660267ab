namespace SaeSharp.Harvest;

/// <summary>
/// One worker's part of a harvest split over <see cref="Count"/> workers (a Kubernetes Indexed Job's pod, a Slurm
/// array task). The input's sequences, as a single harvest would run them, are cut into whole batches and the batches
/// into <see cref="Count"/> contiguous ranges; worker <see cref="Index"/> harvests range <see cref="Index"/>. Because the
/// cut falls between batches, every worker runs exactly the batches (so the padding, so the numbers) of the single
/// harvest, and the workers' stores concatenated in index order are its rows (docs/store-format.md, "Sharded harvests").
/// </summary>
/// <param name="Index">This worker, in <c>[0, Count)</c>.</param>
/// <param name="Count">Workers in all, at least 1.</param>
public sealed record HarvestShard(int Index, int Count)
{
    /// <summary>The largest <see cref="Count"/> accepted.</summary>
    public const int MaxCount = 1 << 20;

    /// <summary>Throws naming <c>shard</c> when the count is outside [1, <see cref="MaxCount"/>] or the index outside [0, count).</summary>
    /// <exception cref="SaeSharpException">Out of range.</exception>
    public HarvestShard Validate()
    {
        if (Count is < 1 or > MaxCount) throw new SaeSharpException($"count {Count} is outside [1, {MaxCount}]", field: "shard");
        if (Index < 0 || Index >= Count) throw new SaeSharpException($"index {Index} is outside [0, {Count})", field: "shard");
        return this;
    }

    /// <summary>
    /// This worker's sequences, <c>[first, end)</c>, out of <paramref name="sequences"/> that the whole harvest runs
    /// <paramref name="batchSize"/> at a time: batches <c>[⌊I·B/N⌋, ⌊(I+1)·B/N⌋)</c> of the <c>B = ⌈sequences / batchSize⌉</c>.
    /// </summary>
    public (long First, long End) Sequences(long sequences, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequences);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        long batches = (sequences + batchSize - 1) / batchSize;
        long firstBatch = (long)((Int128)batches * Index / Count);
        long endBatch = (long)((Int128)batches * (Index + 1) / Count);
        return (Math.Min(sequences, firstBatch * batchSize), Math.Min(sequences, endBatch * batchSize));
    }
}
