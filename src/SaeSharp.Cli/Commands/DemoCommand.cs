using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Cli.Reporting;
using SaeSharp.Testbeds.Demos;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp demo</c>: the whole pipeline on the embedded modular-addition host (default) or the story host, ending in a report or a latent dashboard.</summary>
internal static class DemoCommand
{
    internal static Command Create()
    {
        var host = new Option<string>("--host") { Description = "The host: modadd (the modular-addition transformer) or stories (the GPT-Neo story host, scored against the generator's labels).", DefaultValueFactory = _ => "modadd" };
        host.AcceptOnlyFromAmong("modadd", "stories");
        var output = new Option<string?>("--out") { Description = "Output folder (default: runs/demo for modadd, runs/stories for stories)." };
        var quick = new Option<bool>("--quick") { Description = "Fewer SAE steps (modadd: the host is the same; stories: a small, weak host and fewer stories too); for CI." };
        var seed = new Option<long>("--seed") { Description = "Seed of the host (and its cache entry) and the SAE.", DefaultValueFactory = _ => 0 };
        var retrain = new Option<bool>("--retrain-host") { Description = "Train the host again even when it is cached." };
        var hostSteps = new Option<int?>("--host-steps") { Description = "stories: training steps of the story host (default: the recipe's); fewer train a weaker host sooner, in its own cache entry." };
        var layer = new Option<int?>("--layer") { Description = "stories: the block whose output the SAE reads (default: 2)." };
        var force = new Option<bool>("--force") { Description = "Replace the contents of a non-empty --out folder." };
        var threads = new Option<int>("--threads") { Description = "Threads for libtorch and ONNX Runtime (default 0: one per core)." };
        var json = new Option<bool>("--json") { Description = "Print summary.json to stdout." };
        var command = new Command("demo", "Train a host (cached), harvest its residual stream through ONNX Runtime, train a TopK SAE and report what it found against what is known: " +
            "the modular-addition host's Fourier mechanism (report.html), or the story generator's labels (dashboard.html).");
        foreach (var option in new Option[] { host, output, quick, seed, retrain, hostSteps, layer, threads, force, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            if (result.GetValue(threads) is > 0 and var threadCount)
                TorchSharp.torch.set_num_threads(threadCount);
            if (result.GetValue(host) == "stories")
                return await RunStories(result, output, quick, seed, retrain, hostSteps, layer, force, json, cancellationToken);
            if (result.GetValue(hostSteps) is not null || result.GetValue(layer) is not null)
                throw new SaeSharpException("applies to --host stories only", field: result.GetValue(hostSteps) is not null ? "--host-steps" : "--layer");
            var directory = result.GetValue(output) ?? "runs/demo";
            CommandRunner.EnsureWritable(directory, result.GetValue(force), "--out folder");
            var clock = Stopwatch.StartNew();
            bool asJson = result.GetValue(json);
            var options = new SaeDemoOptions
            {
                OutputDirectory = directory, CacheFolder = HostCacheFolder.Default(), Quick = result.GetValue(quick),
                HostSeed = result.GetValue(seed), RetrainHost = result.GetValue(retrain), Threads = result.GetValue(threads),
            }.Validate();
            SaeDemoResult stoppable;
            try
            {
                stoppable = await ConsoleProgress.RunAsync("demo", quiet: false, progress => SaeDemo.RunAsync(options,
                    new SyncProgress<SaeDemoProgress>(d => progress.Report(new ConsoleProgress.Update(d.Done, d.Total, d.Status is null ? d.Stage : $"{d.Stage} {d.Status}"))),
                    cancellationToken));
            }
            catch (OperationCanceledException)
            {
                await Console.Error.WriteLineAsync($"stopped; the host's training (or the trained host) stays in the cache ({options.CacheFolder}): run the same command with --force to continue from it");
                return CommandRunner.Cancelled;
            }
            using var demo = stoppable;
            var summary = DemoSummary.From(demo, clock.Elapsed.TotalSeconds);
            DemoReport.Write(demo, summary, directory);
            if (asJson)
                CliJson.Print(summary, CliJsonContext.Default.DemoSummary);
            else
                Console.Out.WriteLine(
                    $"""
                    host: test accuracy {demo.Host.TestAccuracy:P2}, key frequencies {string.Join(", ", demo.Host.KeyFrequencies.Frequencies)}
                    sae: fvu {demo.SaeEval.Fvu:G4}, l0 {demo.SaeEval.L0:F2}, dead {demo.SaeEval.DeadFraction:P1}
                    ground truth: coverage {demo.GroundTruth.Coverage:P0}, purity {demo.GroundTruth.Purity:P1} (random directions {demo.GroundTruth.BaselinePurity:P1})
                    spliced loss: clean {demo.Spliced.LossClean:G4}, sae {demo.Spliced.LossSae:G4}, zero {demo.Spliced.LossZero:G4} (recovered {demo.Spliced.FractionRecovered:P1})
                    report: {Path.GetFullPath(Path.Combine(directory, "report.html"))} ({clock.Elapsed.TotalSeconds:F0} s)
                    """);
            return 0;
        }));
        return command;
    }

    private static async Task<int> RunStories(ParseResult result, Option<string?> output, Option<bool> quick, Option<long> seed, Option<bool> retrain,
        Option<int?> hostSteps, Option<int?> layer, Option<bool> force, Option<bool> json, CancellationToken cancellationToken)
    {
        var directory = result.GetValue(output) ?? "runs/stories";
        if (result.GetValue(seed) is < 0 and var negative)
            throw new SaeSharpException($"is {negative}; the story host's seed is a non-negative integer", field: "--seed");
        if (result.GetValue(hostSteps) is < 1 and var fewSteps)
            throw new SaeSharpException($"is {fewSteps}; the host needs at least one step", field: "--host-steps");
        var defaults = new StoryDemoOptions { OutputDirectory = directory, CacheFolder = HostCacheFolder.Default() };
        var options = defaults with
        {
            Quick = result.GetValue(quick), HostSeed = (ulong)result.GetValue(seed), RetrainHost = result.GetValue(retrain),
            HostSteps = result.GetValue(hostSteps), Layer = result.GetValue(layer) ?? defaults.Layer,
        };
        try
        {
            options.Validate();
        }
        catch (SaeSharpException e) when (e.Field is "layer" or "story_seed")
        {
            throw new SaeSharpException(e.Message.Replace($"{e.Field}: ", "", StringComparison.Ordinal), field: e.Field == "layer" ? "--layer" : "--seed", inner: e);
        }
        CommandRunner.EnsureWritable(directory, result.GetValue(force), "--out folder");
        var clock = Stopwatch.StartNew();
        bool asJson = result.GetValue(json);
        StoryDemoResult stoppable;
        try
        {
            // Progress goes to stderr in every mode: stdout holds only the summary.
            stoppable = await ConsoleProgress.RunAsync("demo stories", quiet: false, progress => StoryDemo.RunAsync(options,
                new SyncProgress<SaeDemoProgress>(d => progress.Report(new ConsoleProgress.Update(d.Done, d.Total, d.Status is null ? d.Stage : $"{d.Stage} {d.Status}"))),
                cancellationToken));
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"stopped; a host trained to the end stays in the cache ({options.CacheFolder}): run the same command with --force to start again from it");
            return CommandRunner.Cancelled;
        }
        using var demo = stoppable;
        var summary = StoryDemoSummary.From(demo, clock.Elapsed.TotalSeconds);
        CliJson.WriteFile(Path.Combine(directory, "summary.json"), summary, CliJsonContext.Default.StoryDemoSummary);
        if (asJson)
        {
            CliJson.Print(summary, CliJsonContext.Default.StoryDemoSummary);
        }
        else
        {
            var inv = CultureInfo.InvariantCulture;
            Console.Out.WriteLine(string.Create(inv,
                $"""
                host: val_loss {summary.ValLoss:F4} nats, consistency {summary.ConsistencyAccuracy:P1}{(demo.Host.FromCache ? " (from cache)" : "")}
                sae at {options.Hook}: fvu {summary.Sae.Fvu:G4}, l0 {summary.Sae.L0:F2}, dead {summary.Sae.DeadFraction:P1}
                labels: {summary.LabelsCovered} of {summary.LabelsTotal} covered at F1 >= {demo.Labels.Options.CoverageF1} (coverage {summary.Coverage:P1})
                spliced loss: clean {summary.Spliced.LossClean:G4}, sae {summary.Spliced.LossSae:G4}, zero {summary.Spliced.LossZero:G4} (recovered {summary.LossRecovered:P1})
                dashboard: {summary.DashboardPath} ({clock.Elapsed.TotalSeconds:F0} s)
                """));
        }
        return 0;
    }
}
