using SaeSharp.Cli.Internals;

namespace SaeSharp.Cli.Output;

/// <summary>
/// <c>sweep-run.json</c>, written into a run's folder when <c>train --sweep FILE --index I</c> finishes: which run it was
/// and its <see cref="TrainOutput"/>. <c>sweep summary</c> reads these; a run whose record exists is done (a retried
/// worker skips it).
/// </summary>
/// <remarks>
/// <para><see cref="Index"/>: The run's number in the grid.</para>
/// <para><see cref="Count"/>: Runs in the sweep.</para>
/// <para><see cref="Grid"/>: The grid file, absolute.</para>
/// <para><see cref="Axes"/>: The grid's keys (the settings that vary between runs).</para>
/// <para><see cref="Settings"/>: Train option and value (<c>true</c> for a flag).</para>
/// <para><see cref="Result"/>: The run's final and held-out metrics, as <c>train --json</c> prints them.</para>
/// </remarks>
internal sealed record SweepRunRecord(int Index, int Count, string Grid, IReadOnlyList<string> Axes, IReadOnlyDictionary<string, string> Settings, TrainOutput Result)
{
    /// <summary>The file's name inside a run folder.</summary>
    public const string FileName = "sweep-run.json";

    public static SweepRunRecord From(SweepRun run, string grid, TrainOutput result) =>
        new(run.Index, run.Count, grid, run.Axes, SweepRunOutput.SettingsOf(run), result);
}
