using SaeSharp.Cli.Internals;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp sweep --grid FILE --json</c>: the grid's runs, numbered as <c>train --sweep FILE --index I</c> takes them.</summary>
/// <remarks>
/// <para><see cref="Grid"/>: The grid file, absolute.</para>
/// <para><see cref="Out"/>: The sweep folder, absolute; run <c>i</c> writes <c>run-{i:D4}</c> inside it.</para>
/// <para><see cref="Count"/>: Runs in the sweep (the scheduler's completions or array size).</para>
/// <para><see cref="Axes"/>: The grid's keys, in the order they vary (the last fastest).</para>
/// </remarks>
internal sealed record SweepOutput(string Grid, string Out, int Count, IReadOnlyList<string> Axes, IReadOnlyList<SweepRunOutput> Runs)
{
    public static SweepOutput From(SweepGrid grid) => new(grid.Path, grid.Output, grid.Count, grid.Axes.Select(a => a.Key).ToList(),
        Enumerable.Range(0, grid.Count).Select(i => SweepRunOutput.From(grid.Run(i))).ToList());
}

/// <summary>One run of a sweep.</summary>
/// <remarks>
/// <para><see cref="Settings"/>: Train option and value (<c>true</c> for a flag), shared settings first, then the axes'.</para>
/// <para><see cref="Arguments"/>: The train arguments the run gets, <c>--out</c> its folder included.</para>
/// </remarks>
internal sealed record SweepRunOutput(int Index, string Out, IReadOnlyDictionary<string, string> Settings, IReadOnlyList<string> Arguments)
{
    public static SweepRunOutput From(SweepRun run) => new(run.Index, run.Directory, SettingsOf(run), run.Arguments());

    internal static Dictionary<string, string> SettingsOf(SweepRun run) => run.Settings.ToDictionary(s => s.Key, s => s.Value ?? "true", StringComparer.Ordinal);
}
