using System.Text.Json.Serialization;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp store inspect --json</c>: an <see cref="ActivationStore"/>'s manifest in brief, with each hook's mean row norm.</summary>
/// <remarks>
/// <para><see cref="Path"/>: The store folder.</para>
/// <para><see cref="D"/>: The row width shared by every hook; null when the hooks differ.</para>
/// <para><see cref="Dtype"/>: <c>f32</c> or <c>f16</c>.</para>
/// <para><see cref="Bytes"/>: Bytes of all shard files.</para>
/// <para><see cref="Complete"/>: Whether the harvest finished (otherwise resume it).</para>
/// <para><see cref="Model"/>: The model file the store was harvested from.</para>
/// </remarks>
internal sealed record StoreInspectOutput(
    string Path, long Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? D,
    string Dtype, long Bytes, int Shards, int RowsPerShard, int ContextLength, bool Complete, string Model,
    IReadOnlyList<StoreHookOutput> Hooks)
{
    /// <summary>The summary of an open store; reads every hook's rows for the mean norms.</summary>
    public static StoreInspectOutput From(ActivationStore s)
    {
        var widths = s.Hooks.Select(h => h.D).Distinct().ToArray();
        return new(s.Path, s.Rows, widths.Length == 1 ? widths[0] : null, DTypeName(s.DType), s.ShardBytes, s.ShardCount, s.RowsPerShard,
            s.ContextLength, s.Complete, s.Model.File, s.Hooks.Select((h, i) => StoreHookOutput.From(h, s.Statistics(i))).ToArray());
    }

    public static string DTypeName(StoreDType dtype) => dtype == StoreDType.F16 ? "f16" : "f32";
}

/// <summary>One <see cref="StoreHook"/> (aliases as an empty list when it has none) with its <see cref="HookStatistics"/>.</summary>
/// <remarks>
/// <para><see cref="MeanNorm"/>: Mean L2 norm of the hook's finite rows.</para>
/// <para><see cref="NonFiniteValues"/>, <see cref="NonFiniteRows"/>: NaN or infinite values and the rows holding them, counted
/// rather than refused: a store harvested with --allow-non-finite holds them on purpose, and inspect is where one looks.</para>
/// </remarks>
internal sealed record StoreHookOutput(string Name, IReadOnlyList<string> Aliases, string Tensor, int D, double MeanNorm, long NonFiniteValues, long NonFiniteRows)
{
    public static StoreHookOutput From(StoreHook hook, HookStatistics statistics) => new(hook.Name, hook.Aliases ?? [], hook.TensorName, hook.D,
        statistics.MeanNorm, statistics.NonFiniteValues, statistics.NonFiniteRows);
}
