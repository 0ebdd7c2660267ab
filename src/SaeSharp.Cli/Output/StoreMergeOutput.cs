using SaeSharp.Harvest.Store;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp store merge --json</c>: a <see cref="StoreMergeResult"/>.</summary>
/// <remarks>
/// <para><see cref="Store"/>: The merged store folder.</para>
/// <para><see cref="Rows"/>: Rows per hook, the parts' sum.</para>
/// <para><see cref="Parts"/>: Parts merged.</para>
/// <para><see cref="Shards"/>: Shard files per hook in the merged store.</para>
/// <para><see cref="Labels"/>: Whether the parts' labels were merged into <c>labels.bin</c>.</para>
/// </remarks>
internal sealed record StoreMergeOutput(string Store, long Rows, int Parts, int Shards, bool Labels)
{
    public static StoreMergeOutput From(StoreMergeResult r) => new(r.StorePath, r.Rows, r.Parts, r.Shards, r.Labels);
}
