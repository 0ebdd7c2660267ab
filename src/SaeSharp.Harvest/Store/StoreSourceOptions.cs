namespace SaeSharp.Harvest.Store;

/// <summary>How a <see cref="StoreActivationSource"/> orders and prefetches rows.</summary>
public sealed record StoreSourceOptions
{
    /// <summary>Seed of the shuffled order; default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Shuffle (default) or hand rows out in harvest order.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Rows mixed together at once: contiguous chunks drawn from all over the store (across shards) and permuted; default 65536.</summary>
    public int ShuffleBufferRows { get; init; } = 65_536;

    /// <summary>Rows per contiguous chunk drawn into the shuffle buffer; default 1024.</summary>
    public int ChunkRows { get; init; } = 1024;

    /// <summary>Batches a background thread prepares ahead; default 4 (0 reads on the caller's thread).</summary>
    public int PrefetchBatches { get; init; } = 4;

    /// <summary>Throws naming the field when a setting is out of range.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public void Validate()
    {
        if (ChunkRows is < 1 or > 1 << 24) throw new SaeSharpException($"{ChunkRows} is outside [1, 16777216]", field: nameof(ChunkRows));
        if (ShuffleBufferRows < ChunkRows || ShuffleBufferRows > 1 << 26)
            throw new SaeSharpException($"{ShuffleBufferRows} is outside [ChunkRows={ChunkRows}, 67108864]", field: nameof(ShuffleBufferRows));
        if (PrefetchBatches is < 0 or > 1024) throw new SaeSharpException($"{PrefetchBatches} is outside [0, 1024]", field: nameof(PrefetchBatches));
    }
}
