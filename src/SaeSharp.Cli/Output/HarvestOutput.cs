using System.Text.Json.Serialization;
using SaeSharp.Harvest;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp harvest --json</c>: a <see cref="HarvestResult"/> with the rate of this run.</summary>
/// <remarks>
/// <para><see cref="Store"/>: The store folder.</para>
/// <para><see cref="Rows"/>: Rows per hook in the store (all runs).</para>
/// <para><see cref="Resumed"/>: Whether this run continued an earlier one.</para>
/// <para><see cref="Seconds"/>: Wall time of this run, to the millisecond.</para>
/// <para><see cref="TokensPerSecond"/>: Tokens harvested by this run per second, to 0.1; null when the run took no measurable time.</para>
/// </remarks>
internal sealed record HarvestOutput(
    string Store, long Rows, IReadOnlyList<string> Hooks, int Shards, bool Resumed, double Seconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? TokensPerSecond)
{
    public static HarvestOutput From(HarvestResult r) => new(
        r.StorePath, r.Rows, r.Hooks, r.Shards, r.Resumed, Math.Round(r.Seconds, 3),
        r.Seconds > 0 ? Math.Round(r.TokensThisRun / r.Seconds, 1) : null);
}
