using System.Globalization;
using System.Text;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp sweep summary DIR</c>: every finished run's settings and metrics in one table, to choose a dictionary from.</summary>
/// <remarks>
/// <para><see cref="Sweep"/>: The sweep folder, absolute.</para>
/// <para><see cref="Count"/>: Runs in the sweep, as the runs' records say.</para>
/// <para><see cref="Missing"/>: Runs without a <c>sweep-run.json</c> yet (not run, still running or failed).</para>
/// <para><see cref="Axes"/>: The grid's keys: the columns that tell the runs apart.</para>
/// <para><see cref="Runs"/>: One row per finished run, by index.</para>
/// </remarks>
internal sealed record SweepSummaryOutput(string Sweep, int Count, IReadOnlyList<int> Missing, IReadOnlyList<string> Axes, IReadOnlyList<SweepSummaryRow> Runs)
{
    public static SweepSummaryOutput From(string sweep, IReadOnlyList<SweepRunRecord> records)
    {
        int count = records.Count == 0 ? 0 : records.Max(r => r.Count);
        var done = records.Select(r => r.Index).ToHashSet();
        return new(sweep, count, Enumerable.Range(0, count).Where(i => !done.Contains(i)).ToList(), records.Count == 0 ? [] : records[0].Axes,
            records.OrderBy(r => r.Index).Select(SweepSummaryRow.From).ToList());
    }

    /// <summary>The table as GitHub markdown: the axes' values, then held-out FVU, MSE, L0, cosine, dead fraction, training FVU, steps and time.</summary>
    public string Markdown()
    {
        var text = new StringBuilder();
        text.Append("| run |");
        foreach (var axis in Axes) text.Append(' ').Append(axis).Append(" |");
        text.AppendLine(" fvu | mse | l0 | cosine | dead | train fvu | steps | s |");
        text.Append("|---:|");
        foreach (var _ in Axes) text.Append("---|");
        text.AppendLine("---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var run in Runs)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {run.Index} |");
            foreach (var axis in Axes) text.Append(' ').Append(run.Settings.TryGetValue(axis, out var v) ? v : "").Append(" |");
            text.AppendLine(CultureInfo.InvariantCulture,
                $" {run.Fvu:F4} | {run.Mse:G4} | {run.L0:F1} | {run.CosineSimilarity:F4} | {run.DeadFraction:P1} | {run.TrainFvu:F4} | {run.Steps} | {run.ElapsedSeconds:F1} |");
        }
        if (Missing.Count > 0) text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"{Missing.Count} of {Count} runs not finished: {string.Join(", ", Missing)}");
        return text.ToString().TrimEnd('\n');
    }
}

/// <summary>One finished run in a <see cref="SweepSummaryOutput"/>: its settings and the metrics of its <see cref="TrainOutput"/>.</summary>
/// <remarks>
/// <para><see cref="Fvu"/>, <see cref="Mse"/>, <see cref="L0"/>, <see cref="CosineSimilarity"/>: Held-out, as <c>train --json</c> reports them.</para>
/// <para><see cref="Out"/>: The run's folder (its SAE).</para>
/// </remarks>
internal sealed record SweepSummaryRow(
    int Index, IReadOnlyDictionary<string, string> Settings, double Fvu, double Mse, double L0, double CosineSimilarity,
    double DeadFraction, double TrainFvu, long Steps, long Tokens,
    [property: System.Text.Json.Serialization.JsonPropertyName("elapsed_s")] double ElapsedSeconds, string? Out)
{
    public static SweepSummaryRow From(SweepRunRecord r) => new(r.Index, r.Settings, r.Result.Fvu, r.Result.Mse, r.Result.L0, r.Result.CosineSimilarity,
        r.Result.DeadFraction, r.Result.TrainFvu, r.Result.Steps, r.Result.Tokens, r.Result.ElapsedSeconds, r.Result.Out);
}
