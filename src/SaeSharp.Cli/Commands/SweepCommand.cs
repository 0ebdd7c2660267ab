using System.CommandLine;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.IO;

namespace SaeSharp.Cli.Commands;

/// <summary>
/// <c>saesharp sweep --grid FILE</c>: the numbered runs of a training grid (each trained by <c>train --sweep FILE --index I</c>,
/// one per scheduler task); <c>saesharp sweep summary DIR</c>: the finished runs' metrics in one table.
/// </summary>
internal static class SweepCommand
{
    internal static Command Create()
    {
        var grid = new Option<string?>("--grid") { Description = "grid file (JSON: out, base, grid; see docs/scale.md)" };
        var count = new Option<bool>("--count") { Description = "print only the number of runs (for a job array's size)" };
        var json = new Option<bool>("--json") { Description = "print the runs as one JSON object" };
        var command = new Command("sweep", "Expand a grid of training settings into numbered runs (train one with: saesharp train --sweep FILE --index I).");
        command.Options.Add(grid);
        command.Options.Add(count);
        command.Options.Add(json);
        command.Subcommands.Add(Summary());
        command.SetAction((ParseResult r, CancellationToken _) => CommandRunner.RunAsync(() => HarvestCli.Sync(() =>
        {
            var path = r.GetValue(grid) ?? throw new SaeSharpException("give the grid file with --grid FILE (or see `saesharp sweep summary`)", field: "--grid");
            var sweep = SweepGrid.Read(path);
            // Every run's command line through the train parser now, not when the 37th worker starts.
            for (int i = 0; i < sweep.Count; i++)
            {
                var parsed = TrainCommand.Create().Parse(sweep.Run(i).Arguments().ToArray());
                if (parsed.Errors.Count > 0)
                    throw new SaeSharpException($"run {i}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}", sweep.Path, "grid");
            }
            if (r.GetValue(count))
                Console.Out.WriteLine(sweep.Count);
            else if (r.GetValue(json))
                CliJson.Print(SweepOutput.From(sweep), CliJsonContext.Default.SweepOutput);
            else
            {
                Console.Out.WriteLine($"{sweep.Count} runs into {sweep.Output}");
                for (int i = 0; i < sweep.Count; i++)
                {
                    var run = sweep.Run(i);
                    Console.Out.WriteLine($"  {i}: {string.Join(' ', run.Settings.Where(s => run.Axes.Contains(s.Key)).Select(s => $"--{s.Key} {s.Value}"))}");
                }
            }
            return 0;
        })));
        return command;
    }

    private static Command Summary()
    {
        var folder = new Argument<string>("DIR") { Description = "the sweep folder (the grid's out)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of a markdown table" };
        var command = new Command("summary", "One table of every finished run's settings and held-out metrics (markdown, or JSON), and the runs still missing.");
        command.Arguments.Add(folder);
        command.Options.Add(json);
        command.SetAction((ParseResult r, CancellationToken _) => CommandRunner.RunAsync(() => HarvestCli.Sync(() =>
        {
            var dir = Path.GetFullPath(r.GetValue(folder)!);
            if (!Directory.Exists(dir)) throw new SaeSharpException("sweep folder not found", dir);
            var records = Directory.EnumerateDirectories(dir, "run-*").Order(StringComparer.Ordinal)
                .Select(run => Path.Combine(run, SweepRunRecord.FileName)).Where(File.Exists).Select(Read).ToList();
            if (records.Count == 0)
                throw new SaeSharpException($"no finished run here (no run-NNNN/{SweepRunRecord.FileName}); train runs with saesharp train --sweep FILE --index I", dir);
            var summary = SweepSummaryOutput.From(dir, records);
            if (r.GetValue(json))
                CliJson.Print(summary, CliJsonContext.Default.SweepSummaryOutput);
            else
                Console.Out.WriteLine(summary.Markdown());
            return 0;
        })));
        return command;
    }

    private static SweepRunRecord Read(string path)
    {
        using var document = StrictJson.Parse(StrictJson.ReadUtf8File(path), path);
        var record = StrictJson.Deserialize(document, CliJsonContext.Default.SweepRunRecord, path);
        if (record.Result is null || record.Settings is null || record.Axes is null || record.Index < 0 || record.Index >= record.Count)
            throw new SaeSharpException("not a sweep-run record (needs index < count, axes, settings and result)", path);
        return record;
    }
}
