using SaeSharp.IO;
using System.CommandLine;
using System.Globalization;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Cli.Reporting;
using SaeSharp.Crosscoders;
using SaeSharp.Harvest.Store;
using SaeSharp.Testbeds.Demos;
using SaeSharp.Training;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp crosscoder</c>: the embedded model-diffing demo, and training on paired activation stores.</summary>
internal static class CrosscoderCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    internal static Command Create()
    {
        var command = new Command("crosscoder", "Crosscoders across models or layers, and model diffing.");
        command.Subcommands.Add(CreateDemo());
        command.Subcommands.Add(CreateTrain());
        return command;
    }

    private static Command CreateDemo()
    {
        var defaults = new CrosscoderDemoOptions { CacheFolder = "" };
        var output = new Option<string?>("--out") { Description = "Folder for report.html and summary.json." };
        var force = new Option<bool>("--force") { Description = "Replace what --out already holds." };
        var quick = new Option<bool>("--quick") { Description = "Fewer crosscoder steps and no student (a smoke run; the numbers are not the demo's)." };
        var seedA = new Option<long>("--seed-a") { Description = "Seed of host A (also the student's teacher).", DefaultValueFactory = _ => defaults.SeedA };
        var seedB = new Option<long>("--seed-b") { Description = "Seed of host B.", DefaultValueFactory = _ => defaults.SeedB };
        var steps = new Option<int>("--steps") { Description = "Training steps of each crosscoder.", DefaultValueFactory = _ => defaults.Steps };
        var latents = new Option<int>("--latents") { Description = "Crosscoder dictionary size.", DefaultValueFactory = _ => defaults.LatentCount };
        var k = new Option<int>("--k") { Description = "BatchTopK: mean active latents per row.", DefaultValueFactory = _ => defaults.K };
        var l1 = new Option<double>("--l1", "--sparsity-coefficient") { Description = "L1 crosscoder: penalty coefficient.", DefaultValueFactory = _ => defaults.L1Coefficient };
        var hook = new Option<string>("--hook") { Description = "Hook point read from every host, at the = position (resid_pre.0, resid_mid.0 or resid_post.0).", DefaultValueFactory = _ => defaults.Hook };
        var noStudent = new Option<bool>("--no-student") { Description = "Skip the distilled student." };
        var cache = new Option<string?>("--cache") { Description = "Folder of cached hosts (default $XDG_CACHE_HOME/saesharp/hosts)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object to stdout." };
        var host = new Option<string>("--host") { Description = "modadd: two modular-addition hosts and a distilled student; stories: the story host vs a model distilled from a teacher that learned self-reflections.", DefaultValueFactory = _ => "modadd" };
        host.AcceptOnlyFromAmong("modadd", "stories");
        var pairSteps = new Option<int?>("--pair-steps") { Description = "stories: fine-tuning steps of the teacher and of the distilled model (default: the recipe's); fewer build a weaker pair sooner, in its own cache entry." };
        var samples = new Option<int?>("--samples") { Description = "stories: stories sampled from the teacher for the distilled model (default: the recipe's)." };
        var command = new Command("demo", "Diff two modular-addition hosts with different key frequencies (and a distilled student) and score the crosscoders against the truth; or, with --host stories, a base and a distilled story model.");
        foreach (var option in new Option[] { host, pairSteps, samples, output, force, quick, seedA, seedB, steps, latents, k, l1, hook, noStudent, cache, json })
            command.Options.Add(option);
        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            bool asJson = result.GetValue(json);
            if (result.GetValue(host) == "stories")
                return await RunStories(new StoryCrosscoderDemoOptions
                {
                    OutputDirectory = result.GetValue(output) ?? "runs/xc-stories", CacheFolder = result.GetValue(cache) ?? HostCacheFolder.Default(),
                    Quick = result.GetValue(quick), PairSteps = result.GetValue(pairSteps), DistillationSamples = result.GetValue(samples),
                    CrosscoderSteps = result.GetResult(steps) is { Implicit: false } ? result.GetValue(steps) : null,
                }, result.GetValue(force), asJson, cancellationToken);
            var outDir = result.GetValue(output);
            if (outDir is not null) CommandRunner.EnsureWritable(outDir, result.GetValue(force), "--out folder");
            bool isQuick = result.GetValue(quick);
            var options = new CrosscoderDemoOptions
            {
                SeedA = result.GetValue(seedA),
                SeedB = result.GetValue(seedB),
                Steps = isQuick ? Math.Min(300, result.GetValue(steps)) : result.GetValue(steps),
                LatentCount = result.GetValue(latents),
                K = result.GetValue(k),
                L1Coefficient = result.GetValue(l1),
                Hook = result.GetValue(hook)!,
                IncludeStudent = !isQuick && !result.GetValue(noStudent),
                CacheFolder = result.GetValue(cache) ?? HostCacheFolder.Default(),
            }.Validate();
            CrosscoderDemoResult demo;
            try
            {
                demo = await ConsoleProgress.RunAsync("crosscoder demo", quiet: false, reporter => Task.Run(() =>
                    CrosscoderDemo.Run(options, new StageProgress(reporter, CrosscoderDemo.StageCount(options)), cancellationToken), CancellationToken.None));
            }
            catch (OperationCanceledException)
            {
                await Console.Error.WriteLineAsync($"stopped; hosts trained so far stay in the cache ({options.CacheFolder}): run the same command again to continue from them");
                return CommandRunner.Cancelled;
            }
            var summary = CrosscoderDemoSummary.From(demo);
            if (outDir is not null)
            {
                Directory.CreateDirectory(outDir);
                CliJson.WriteFile(Path.Combine(outDir, "summary.json"), summary, CliJsonContext.Default.CrosscoderDemoSummary);
                var report = ModelDiffSection.Append(new HtmlReport("SaeSharp crosscoder demo"), demo);
                AtomicFile.WriteAllText(Path.Combine(outDir, "report.html"), report.Render());
                summary = summary with { Out = Path.GetFullPath(outDir) };
            }
            if (asJson)
                CliJson.Print(summary, CliJsonContext.Default.CrosscoderDemoSummary);
            else
                Console.Out.WriteLine(HumanSummary(demo, outDir));
            return 0;
        }));
        return command;
    }

    private static async Task<int> RunStories(StoryCrosscoderDemoOptions options, bool force, bool asJson, CancellationToken cancellationToken)
    {
        options.Validate();
        var directory = options.OutputDirectory;
        CommandRunner.EnsureWritable(directory, force, "--out folder");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        StoryCrosscoderDemoResult demo;
        try
        {
            // Progress goes to stderr in every mode: stdout holds only the summary.
            demo = await ConsoleProgress.RunAsync("crosscoder demo stories", quiet: false, progress => Task.Run(() => StoryCrosscoderDemo.Run(options,
                new SyncProgress<SaeDemoProgress>(d => progress.Report(new ConsoleProgress.Update(d.Done, d.Total, d.Status is null ? d.Stage : $"{d.Stage} {d.Status}"))),
                cancellationToken), CancellationToken.None));
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"stopped; models trained to the end stay in the cache ({options.CacheFolder}): run the same command with --force to continue from them");
            return CommandRunner.Cancelled;
        }
        var summary = StoryCrosscoderDemoSummary.From(demo, clock.Elapsed.TotalSeconds);
        CliJson.WriteFile(Path.Combine(directory, "summary.json"), summary, CliJsonContext.Default.StoryCrosscoderDemoSummary);
        if (asJson)
        {
            CliJson.Print(summary, CliJsonContext.Default.StoryCrosscoderDemoSummary);
            return 0;
        }
        var lines = new List<string>();
        foreach (var (name, s) in new[] { ("l1", summary.L1), ("batchtopk", summary.Batchtopk) })
            lines.Add(string.Create(Inv, $"{name,-10} exclusive_recall {s.ExclusiveRecall:F3}, shared_accuracy {s.SharedAccuracy:F3}, latent scaling flags {s.LatentScalingFlags} ({s.Shared} shared, {s.BaseOnly} base-only, {s.DistilledOnly} distilled-only)"));
        lines.Add(string.Create(Inv, $"permuted rows: {summary.Permuted.DistilledOnlyWithLabelMatch} distilled-only latents with a label match"));
        lines.Add("steering (alpha: reflection rate): " + string.Join(", ", summary.Steering.Select(kv => string.Create(Inv, $"{kv.Key}: {kv.Value:F3}"))));
        lines.Add(string.Create(Inv, $"dashboard: {summary.Paths.Dashboard} ({clock.Elapsed.TotalSeconds:F0} s)"));
        Console.Out.WriteLine(string.Join("\n", lines));
        return 0;
    }

    private static string HumanSummary(CrosscoderDemoResult demo, string? outDir)
    {
        var lines = demo.Models.Select(m => $"{m.Name,-8} key frequencies {string.Join(", ", m.KeyFrequencies)}, at {demo.Options.Hook} {string.Join(", ", m.HookKeyFrequencies)} (accuracy {m.Accuracy.ToString("P2", Inv)})").ToList();
        foreach (var s in demo.Crosscoders)
            lines.Add(string.Create(Inv, $"{s.Name,-10} {s.ModelA} vs {s.ModelB}: {(double.IsNaN(s.Accuracy) ? "no scored latents" : $"{s.Accuracy:P1} of {s.Scored} frequency-dominated latents classified as the truth")}"));
        lines.Add(string.Create(Inv, $"elapsed {demo.TotalSeconds:F0} s"));
        if (outDir is not null) lines.Add($"report: {Path.GetFullPath(Path.Combine(outDir, "report.html"))}");
        return string.Join("\n", lines);
    }

    private static Command CreateTrain()
    {
        var defaults = new TrainConfig();
        var store = new Option<string[]>("--store") { Description = "Activation store(s): one for all sources (layers of one model), or one per source (models harvested on the same corpus with the same settings).", AllowMultipleArgumentsPerToken = true };
        var sources = new Option<string>("--sources") { Description = "Comma-separated hook names, one per source (e.g. resid_post.3,resid_post.3 with two stores, or resid_post.2,resid_post.4 with one)." };
        var sparsity = new Option<string>("--sparsity") { Description = "Sparsity rule: batchtopk or l1.", DefaultValueFactory = _ => "batchtopk" };
        sparsity.AcceptOnlyFromAmong("batchtopk", "l1");
        var latents = new Option<int>("--latents") { Description = "Dictionary size L.", DefaultValueFactory = _ => 4096 };
        var k = new Option<int>("--k") { Description = "BatchTopK: mean active latents per row.", DefaultValueFactory = _ => 32 };
        var l1 = new Option<double?>("--l1", "--sparsity-coefficient") { Description = "L1 rule: penalty coefficient (default: the trainer's, 2)." };
        var steps = new Option<int>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => defaults.Steps };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per step.", DefaultValueFactory = _ => defaults.BatchSize };
        var learningRate = new Option<double?>("--lr") { Description = "Adam learning rate (default: the trainer's, 1e-3)." };
        var deadWindow = new Option<long>("--dead-window") { Description = "Rows without firing after which a latent is dead.", DefaultValueFactory = _ => defaults.DeadWindowTokens };
        var seed = new Option<long>("--seed") { Description = "Seed of the weights and of the row order.", DefaultValueFactory = _ => defaults.Seed };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (0: only at the end).", DefaultValueFactory = _ => defaults.CheckpointEvery };
        var output = new Option<string?>("--out") { Description = "Output folder (crosscoder + training state)." };
        var force = new Option<bool>("--force") { Description = "Replace a crosscoder already in --out." };
        var resume = new Option<string?>("--resume") { Description = "Continue the stopped run in this folder (pass the same --store and --sources)." };
        var json = new Option<bool>("--json") { Description = "Print the final metrics as one JSON object." };
        var command = new Command("train", "Train a crosscoder on paired rows from activation stores (or resume one).");
        foreach (var option in new Option[] { store, sources, sparsity, latents, k, l1, steps, batchSize, learningRate, deadWindow, seed, checkpointEvery, output, force, resume, json })
            command.Options.Add(option);
        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            bool asJson = result.GetValue(json);
            var storePaths = (result.GetValue(store) ?? []).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
            var hookNames = (result.GetValue(sources) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (storePaths.Length == 0) throw new SaeSharpException("give at least one activation store", field: "--store");
            if (hookNames.Length < 2) throw new SaeSharpException($"needs at least two comma-separated hook names, got {hookNames.Length}", field: "--sources");
            if (storePaths.Length != 1 && storePaths.Length != hookNames.Length)
                throw new SaeSharpException($"give one store for all sources or one per source ({hookNames.Length}), got {storePaths.Length}", field: "--store");
            ulong rowSeed = (ulong)result.GetValue(seed);
            var paired = OpenPaired(storePaths, hookNames, rowSeed);
            CrosscoderTrainer trainer;
            try
            {
                if (result.GetValue(resume) is { } resumeDirectory)
                {
                    trainer = CrosscoderTrainer.Resume(resumeDirectory);
                    if (trainer.Crosscoder.SourceCount != hookNames.Length || trainer.Crosscoder.InputDim != paired.SourceWidth)
                        throw new SaeSharpException($"the run reads {trainer.Crosscoder.SourceCount} sources of width {trainer.Crosscoder.InputDim}; --store/--sources give {hookNames.Length} of width {paired.SourceWidth}", resumeDirectory, "--sources");
                }
                else
                {
                    var config = new CrosscoderConfig
                    {
                        SourceCount = hookNames.Length, InputDim = paired.SourceWidth, LatentCount = result.GetValue(latents),
                        Sparsity = result.GetValue(sparsity) == "l1" ? CrosscoderSparsity.L1 : CrosscoderSparsity.BatchTopK, K = result.GetValue(k),
                        SourceNames = hookNames.Select((h, i) => storePaths.Length == 1 ? h : $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(storePaths[i]))}:{h}").ToArray(),
                    }.Validate();
                    var trainConfig = new TrainConfig
                    {
                        Steps = result.GetValue(steps), BatchSize = result.GetValue(batchSize), LearningRate = result.GetValue(learningRate),
                        SparsityCoefficient = result.GetValue(l1), DeadWindowTokens = result.GetValue(deadWindow), Seed = result.GetValue(seed),
                        CheckpointEvery = result.GetValue(checkpointEvery),
                    }.Validate();
                    trainer = new CrosscoderTrainer(config, trainConfig, new TrainerOptions { OutputDirectory = result.GetValue(output), Overwrite = result.GetValue(force) });
                }
            }
            catch
            {
                paired.Dispose();
                throw;
            }
            using (trainer)
            using (paired)
            {
                var started = DateTime.UtcNow;
                CrosscoderTrainResult trained;
                try
                {
                    trained = await ConsoleProgress.RunAsync("crosscoder train", quiet: false, async reporter =>
                        await trainer.TrainAsync(paired, new TrainProgressAdapter(reporter), cancellationToken));
                }
                catch (OperationCanceledException) when ((result.GetValue(output) ?? result.GetValue(resume)) is { } runDirectory)
                {
                    await Console.Error.WriteLineAsync($"stopped at step {trainer.Step} of {trainer.TrainConfig.Steps} (checkpoint written); continue with: saesharp crosscoder train --resume {runDirectory} --store {string.Join(",", storePaths)} --sources {string.Join(",", hookNames)}");
                    return CommandRunner.Cancelled;
                }
                catch (OperationCanceledException)
                {
                    await Console.Error.WriteLineAsync($"stopped at step {trainer.Step} of {trainer.TrainConfig.Steps}; nothing was saved (no --out)");
                    return CommandRunner.Cancelled;
                }
                var m = trained.FinalMetrics;
                var report = CrosscoderTrainOutput.From(trained.FinalMetrics, trained.SourceScales, (DateTime.UtcNow - started).TotalSeconds,
                    trained.OutputDirectory is null ? null : Path.GetFullPath(trained.OutputDirectory));
                if (asJson) CliJson.Print(report, CliJsonContext.Default.CrosscoderTrainOutput);
                else Console.Out.WriteLine(CliJson.Lines(report, CliJsonContext.Default.CrosscoderTrainOutput, nameWidth: 14, withArrays: true));
                return 0;
            }
        }));
        return command;
    }

    /// <summary>
    /// One store source per hook, all with the same order options so row i of each is the same token. Several stores
    /// must have been harvested from the same input with the same settings: their manifests' input, context length,
    /// batch size, tokenizer and row count must agree (the model may differ).
    /// </summary>
    private static PairedActivationSource OpenPaired(string[] storePaths, string[] hookNames, ulong seed)
    {
        if (storePaths.Length > 1)
        {
            var reference = StoreManifest.Read(storePaths[0]);
            for (int i = 1; i < storePaths.Length; i++)
                if (!StoreManifest.Read(storePaths[i]).RowsAlignWith(reference))
                    throw new SaeSharpException($"was not harvested like {storePaths[0]} (input, context length, batch size, tokenizer and row count must match), so its rows do not line up", storePaths[i], "--store");
        }
        var options = new StoreSourceOptions { Seed = seed };
        var opened = new List<IActivationSource>();
        try
        {
            for (int i = 0; i < hookNames.Length; i++)
                opened.Add(StoreActivationSource.Open(storePaths.Length == 1 ? storePaths[0] : storePaths[i], hookNames[i], options));
            return new PairedActivationSource(opened);
        }
        catch
        {
            foreach (var source in opened) source.Dispose();
            throw;
        }
    }

    private sealed class StageProgress(IProgress<ConsoleProgress.Update> inner, int stages) : IProgress<string>
    {
        private int _stage;

        public void Report(string value) => inner.Report(new ConsoleProgress.Update(++_stage, stages, value));
    }

    private sealed class TrainProgressAdapter(IProgress<ConsoleProgress.Update> inner) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => inner.Report(new ConsoleProgress.Update(value.Step, value.TotalSteps,
            value.Metrics is { } m
                ? string.Create(Inv, $"loss {m.Loss:G4} fvu {string.Join("/", m.SourceFvu.Select(f => f.ToString("F3", Inv)))} l0 {m.L0:F1} dead {m.DeadFraction:P1}")
                : null));
    }
}
