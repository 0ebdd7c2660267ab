using System.CommandLine;
using System.Globalization;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Hosts;
using SaeSharp.Testbeds.ModularAddition;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp host</c>: train the modular-addition or the story host, export a host to ONNX.</summary>
internal static class HostCommand
{
    internal static Command Create()
    {
        var command = new Command("host", "Host transformers: train the modular-addition or the story host, export a host to ONNX.");
        command.Subcommands.Add(CreateTrainModAdd());
        command.Subcommands.Add(CreateTrainStories());
        command.Subcommands.Add(CreateExport());
        return command;
    }

    private static Command CreateTrainModAdd()
    {
        var defaults = new ModAddConfig();
        var seed = new Option<long>("--seed") { Description = "Seed of the train/test split and the initial weights.", DefaultValueFactory = _ => defaults.Seed };
        var p = new Option<int>("--p") { Description = "The prime modulus.", DefaultValueFactory = _ => defaults.P };
        var trainFraction = new Option<double>("--train-fraction") { Description = "Share of the p² pairs used for training (the paper used 0.3, which groks ~15x later).", DefaultValueFactory = _ => defaults.TrainFraction };
        var maxSteps = new Option<int>("--max-steps") { Description = "Hard limit on optimiser steps.", DefaultValueFactory = _ => defaults.MaxSteps };
        var outDir = new Option<string?>("--out") { Description = "Folder for the trained host (default: $XDG_CACHE_HOME/saesharp/hosts/modadd-p{P}-seed{S}); reused when it holds this run." };
        var retrain = new Option<bool>("--retrain") { Description = "Train even when the folder already holds this run." };
        var loss = new Option<string>("--loss") { Description = "Training loss: cross-entropy, or harmonic (distance-based HarMax, Baek et al. 2025).", DefaultValueFactory = _ => ModAddLossNames.Name(defaults.Loss) };
        var exponent = new Option<double?>("--harmonic-exponent") { Description = "The harmonic loss's exponent n, p_i ∝ d_i^(-n) (default: the model width, 128)." };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (default: libtorch's choice, the core count)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object to stdout." };
        var command = new Command("train-modadd", "Train (or load from cache) the grokking modular-addition host: a b = → (a+b) mod p.");
        foreach (var option in new Option[] { seed, p, trainFraction, maxSteps, loss, exponent, outDir, retrain, threads, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var lossKind = ModAddLossNames.Parse(result.GetValue(loss)!, "--loss");
            var harmonicExponent = result.GetValue(exponent);
            if (harmonicExponent is not null && lossKind != ModAddLoss.Harmonic)
                throw new SaeSharpException("applies only with --loss harmonic", field: "--harmonic-exponent");
            var config = new ModAddConfig(P: result.GetValue(p), Seed: result.GetValue(seed),
                TrainFraction: result.GetValue(trainFraction), MaxSteps: result.GetValue(maxSteps), Loss: lossKind, HarmonicExponent: harmonicExponent).Validate();
            if (result.GetValue(threads) is > 0 and var threadCount)
                TorchSharp.torch.set_num_threads(threadCount);
            var folder = result.GetValue(outDir) ?? ModAddCache.EntryFolder(HostCacheFolder.Default(), config);
            bool asJson = result.GetValue(json);

            using var trained = await ConsoleProgress.RunAsync("train-modadd", quiet: false, progress => Task.Run(() =>
                ModAddCache.LoadOrTrain(config, folder, result.GetValue(retrain), new LogProgress(progress, config.MaxSteps), cancellationToken)));
            var report = HostTrainOutput.From(trained, Path.GetFullPath(folder));
            if (asJson)
            {
                CliJson.Print(report, CliJsonContext.Default.HostTrainOutput);
            }
            else
            {
                var inv = CultureInfo.InvariantCulture;
                Console.Out.WriteLine(string.Create(inv,
                    $"modular addition p={config.P} seed={config.Seed} loss={ModAddLossNames.Name(config.Loss)}: train acc {trained.TrainAccuracy:P2}, test acc {trained.TestAccuracy:P2} after {trained.Steps} steps " +
                    $"(memorized at {trained.StepsToMemorize?.ToString(inv) ?? "-"}, generalized at {trained.StepsToGeneralize?.ToString(inv) ?? "-"}; " +
                    $"{trained.TrainingTime.TotalSeconds:F0} s{(trained.FromCache ? ", from cache" : "")})"));
                Console.Out.WriteLine(string.Create(inv,
                    $"key frequencies {string.Join(", ", trained.KeyFrequencies.Frequencies)} hold {trained.KeyFrequencies.Explained:P1} of the embedding's squared norm"));
                Console.Out.WriteLine($"model: {Path.GetFullPath(folder)}");
            }
            return 0;
        }));
        return command;
    }

    private static Command CreateTrainStories()
    {
        var defaults = new StoryHostOptions();
        var seed = new Option<ulong>("--seed") { Description = "Seed of the generated stories, the initial weights and the batch order.", DefaultValueFactory = _ => defaults.Seed };
        var outDir = new Option<string?>("--out") { Description = "Folder for the host (default: $XDG_CACHE_HOME/saesharp/hosts/stories-v{V}-seed{S}); reused when it holds this run." };
        var steps = new Option<int>("--steps") { Description = "Training steps (fewer for a quick, weaker host).", DefaultValueFactory = _ => defaults.Training.Steps };
        var stories = new Option<int>("--stories") { Description = "Generated training stories.", DefaultValueFactory = _ => defaults.TrainStories };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (default: libtorch's choice, the core count)." };
        var force = new Option<bool>("--force") { Description = "Retrain, replacing what the folder holds (the old folder stays until the new one is complete)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object to stdout." };
        var command = new Command("train-stories",
            "Train (or load from cache) the story host: a 4-layer GPT-Neo (TinyStories-33M's architecture, smaller) on generated children's stories; Hugging Face folder + ONNX export taking GPT-2 ids.");
        foreach (var option in new Option[] { seed, outDir, steps, stories, threads, force, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var options = new StoryHostOptions
            {
                Seed = result.GetValue(seed),
                TrainStories = result.GetValue(stories),
                Training = defaults.Training with { Steps = result.GetValue(steps) },
            };
            try
            {
                options.Validate();
            }
            catch (SaeSharpException e) when (e.Field is "Steps" or "TrainStories")
            {
                throw new SaeSharpException(e.Message.Replace($"{e.Field}: ", "", StringComparison.Ordinal), field: e.Field == "Steps" ? "--steps" : "--stories", inner: e);
            }
            if (result.GetValue(threads) is > 0 and var threadCount)
                TorchSharp.torch.set_num_threads(threadCount);
            var folder = result.GetValue(outDir) ?? Path.Combine(HostCacheFolder.Default(), StoryHostCache.EntryName(options));

            using var host = await ConsoleProgress.RunAsync("train-stories", quiet: false, progress => Task.Run(() =>
                StoryHostCache.LoadOrTrain(options, folder, result.GetValue(force), new StoryProgress(progress), cancellationToken)));
            var report = StoryHostOutput.From(host);
            if (result.GetValue(json))
            {
                CliJson.Print(report, CliJsonContext.Default.StoryHostOutput);
            }
            else
            {
                var inv = CultureInfo.InvariantCulture;
                Console.Out.WriteLine(string.Create(inv,
                    $"story host seed={report.Seed}: val_loss {report.ValLoss:F4} nats (ONNX {report.OnnxValLoss:F4}), consistency {report.ConsistencyAccuracy:P1} " +
                    $"({string.Join(", ", report.ConsistencyByKind.Select(k => $"{k.Key} {k.Value:P1}"))}); {report.TrainTokens:N0} tokens at {report.TokensPerSecond:F0}/s, " +
                    $"{report.Seconds:F0} s{(report.FromCache ? ", from cache" : "")}"));
                Console.Out.WriteLine($"model: {report.HostPath}");
                Console.Out.WriteLine($"onnx: {report.OnnxPath}");
            }
            return 0;
        }));
        return command;
    }

    private static Command CreateExport()
    {
        var model = new Option<string>("--model") { Description = "Host folder (host.json + model.safetensors), e.g. what train-modadd wrote.", Required = true };
        var output = new Option<string>("--out") { Description = "The ONNX file to write.", Required = true };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing output file." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object to stdout." };
        var command = new Command("export", "Export a host transformer to ONNX (opset 17, input_ids [batch, sequence] int64 → logits).");
        foreach (var option in new Option[] { model, output, force, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(() =>
        {
            var outPath = result.GetValue(output)!;
            CommandRunner.EnsureWritable(outPath, result.GetValue(force), "output file");
            using var host = HostTransformer.LoadFolder(result.GetValue(model)!);
            OnnxExporter.Export(host, outPath);
            var report = new HostExportOutput(Path.GetFullPath(outPath), new FileInfo(outPath).Length, OnnxExporter.Opset, host.Config.LayerCount,
                OnnxExporter.InputName, OnnxExporter.OutputName);
            if (result.GetValue(json))
                CliJson.Print(report, CliJsonContext.Default.HostExportOutput);
            else
                Console.Out.WriteLine($"wrote {report.Onnx} ({report.Bytes} bytes, opset {report.Opset})");
            return Task.FromResult(0);
        }));
        return command;
    }

    /// <summary>Training steps of steps, with the latest batch loss.</summary>
    private sealed class StoryProgress(IProgress<ConsoleProgress.Update> inner) : IProgress<LanguageModelProgress>
    {
        public void Report(LanguageModelProgress p) => inner.Report(new ConsoleProgress.Update(p.Step, p.TotalSteps,
            p.Step % 100 == 0 || p.Step == p.TotalSteps ? string.Create(CultureInfo.InvariantCulture, $"step {p.Step}: loss {p.Loss:F3}, {p.Tokens:N0} tokens") : null));
    }

    /// <summary>Turns training log entries into progress updates (step of max steps, with the current accuracies).</summary>
    private sealed class LogProgress(IProgress<ConsoleProgress.Update> inner, int maxSteps) : IProgress<ModAddLogEntry>
    {
        // The host stops once it generalises, long before maxSteps: the total is an upper bound, and the status says so.
        public void Report(ModAddLogEntry e) => inner.Report(new ConsoleProgress.Update(e.Step, maxSteps,
            string.Create(CultureInfo.InvariantCulture, $"step {e.Step:N0} of at most {maxSteps:N0} (stops once it generalises): train acc {e.TrainAccuracy:P1}, test acc {e.TestAccuracy:P1}, key-frequency share {e.KeyFrequencyFraction:P1}")));
    }
}
