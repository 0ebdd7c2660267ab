namespace SaeSharp.Harvest.Store;

/// <summary>One committed shard: a run of consecutive rows, one file per hook.</summary>
/// <param name="Index">Position in the shard list.</param>
/// <param name="Rows">Rows in the shard (the store's rows per shard, except for the last shard).</param>
/// <param name="Files">File of hook <c>h</c> at index <c>h</c>.</param>
public sealed record StoreShard(int Index, int Rows, IReadOnlyList<StoreShardFile> Files);
