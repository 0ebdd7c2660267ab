namespace SaeSharp.Harvest.Store;

/// <summary>
/// The <c>harvest_shard</c> of a store that one worker of a split harvest wrote (docs/store-format.md, "Sharded
/// harvests"): which part it is, and where its rows sit in the whole harvest. Absent in a store harvested whole.
/// </summary>
public sealed record StoreHarvestShard
{
    /// <summary>This worker's index, in <c>[0, Count)</c>.</summary>
    public required int Index { get; init; }

    /// <summary>Workers of the harvest.</summary>
    public required int Count { get; init; }

    /// <summary>The input's fingerprint: the SHA-256 of the corpus or token-id file (as in <c>input.source</c>).</summary>
    public required string CorpusSha256 { get; init; }

    /// <summary>The first sequence of the whole harvest that this part holds.</summary>
    public required long FirstSequence { get; init; }

    /// <summary>The sequence after this part's last one (this part holds <c>[FirstSequence, EndSequence)</c>, or fewer if the corpus ran out).</summary>
    public required long EndSequence { get; init; }

    /// <summary>The row of the whole harvest that is this part's row 0.</summary>
    public required long FirstRow { get; init; }
}
