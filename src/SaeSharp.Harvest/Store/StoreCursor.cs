namespace SaeSharp.Harvest.Store;

/// <summary>
/// Where a writer continuing a store picks up: the input position of the batch holding the first uncommitted row and
/// how many of that batch's rows are stored already. The store records it; its meaning belongs to whoever produces
/// the rows (<see cref="Harvester"/>: sequence index and corpus position). Readers ignore it.
/// </summary>
public sealed record StoreCursor
{
    /// <summary>Index of the first sequence of the batch.</summary>
    public long Sequence { get; init; }

    /// <summary>Corpus position of that sequence: the document.</summary>
    public long Document { get; init; }

    /// <summary>Corpus position of that sequence: the token inside the document.</summary>
    public int Token { get; init; }

    /// <summary>Rows of the batch already stored; a continuing writer recomputes the batch and drops them.</summary>
    public int SkipRows { get; init; }
}
