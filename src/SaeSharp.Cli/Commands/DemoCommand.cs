using System.CommandLine;
using System.Diagnostics;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Cli.Reporting;
using SaeSharp.Testbeds.Demos;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp demo</c>: the whole pipeline on the embedded modular-addition host, ending in a report.</summary>
internal static class DemoCommand
{
    internal static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output folder (ONNX graph, store, SAE, report).", DefaultValueFactory = _ => "runs/demo" };
        var quick = new Option<bool>("--quick") { Description = "Fewer SAE steps (the host is the same); for CI." };
        var seed = new Option<long>("--seed") { Description = "Seed of the host (and its cache entry) and the SAE.", DefaultValueFactory = _ => 0 };
        var retrain = new Option<bool>("--retrain-host") { Description = "Train the host again even when it is cached." };
        var force = new Option<bool>("--force") { Description = "Replace the contents of a non-empty --out folder." };
        var threads = new Option<int>("--threads") { Description = "Threads for libtorch and ONNX Runtime (default 0: one per core)." };
        var json = new Option<bool>("--json") { Description = "Print summary.json to stdout." };
        var command = new Command("demo", "Train the modular-addition host (cached), export it to ONNX, harvest through ONNX Runtime, train a TopK SAE and report what it found against the known mechanism.");
        foreach (var option in new Option[] { output, quick, seed, retrain, force, threads, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var directory = result.GetValue(output)!;
            CommandRunner.EnsureWritable(directory, result.GetValue(force), "--out folder");
            var clock = Stopwatch.StartNew();
            bool asJson = result.GetValue(json);
            var options = new SaeDemoOptions
            {
                OutputDirectory = directory, CacheFolder = HostCacheFolder.Default(), Quick = result.GetValue(quick),
                HostSeed = result.GetValue(seed), RetrainHost = result.GetValue(retrain), Threads = result.GetValue(threads),
            }.Validate();
            if (options.Threads > 0)
                TorchSharp.torch.set_num_threads(options.Threads);
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
}
