using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Hosts;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp host</c>: train the modular-addition host, export a host to ONNX.</summary>
internal static class HostCommand
{
    internal static Command Create()
    {
        var command = new Command("host", "Host transformers: train the modular-addition host, export a host to ONNX.");
        command.Subcommands.Add(CreateTrainModAdd());
        command.Subcommands.Add(CreateExport());
        return command;
    }

    private static Command CreateTrainModAdd()
    {
        var seed = new Option<long>("--seed") { Description = "Seed of the train/test split and the initial weights.", DefaultValueFactory = _ => 0 };
        var p = new Option<int>("--p") { Description = "The prime modulus.", DefaultValueFactory = _ => 113 };
        var trainFraction = new Option<double>("--train-fraction") { Description = "Share of the p² pairs used for training.", DefaultValueFactory = _ => 0.5 };
        var maxSteps = new Option<int>("--max-steps") { Description = "Hard limit on optimiser steps.", DefaultValueFactory = _ => 40_000 };
        var outDir = new Option<string?>("--out") { Description = "Folder for the trained host (default: $XDG_CACHE_HOME/saesharp/hosts/modadd-p{P}-seed{S})." };
        var retrain = new Option<bool>("--retrain") { Description = "Train even when the folder already holds this run." };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (default: libtorch's choice, the core count)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object to stdout." };
        var command = new Command("train-modadd", "Train (or load from cache) the grokking modular-addition host: a b = → (a+b) mod p.");
        foreach (var option in new Option[] { seed, p, trainFraction, maxSteps, outDir, retrain, threads, json }) command.Options.Add(option);
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            try
            {
                var config = new ModAddConfig(P: r.GetValue(p), Seed: r.GetValue(seed), TrainFraction: r.GetValue(trainFraction), MaxSteps: r.GetValue(maxSteps)).Validate();
                if (r.GetValue(threads) is int threadCount and > 0) TorchSharp.torch.set_num_threads(threadCount);
                var folder = r.GetValue(outDir) ?? ModAddCache.DefaultFolder(config);
                bool asJson = r.GetValue(json);
                var progress = new ActionProgress<ModAddLogEntry>(e =>
                {
                    if (e.Step % 1000 == 0)
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"step {e.Step,6}  train loss {e.TrainLoss:F4} acc {e.TrainAccuracy:P1}  test loss {e.TestLoss:F4} acc {e.TestAccuracy:P1}"));
                });
                using var result = ModAddCache.LoadOrTrain(config, folder, r.GetValue(retrain), progress, ct);
                if (asJson)
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(new
                    {
                        p = config.P,
                        seed = config.Seed,
                        train_acc = result.TrainAccuracy,
                        test_acc = result.TestAccuracy,
                        steps = result.Steps,
                        steps_to_memorize = result.StepsToMemorize,
                        steps_to_generalize = result.StepsToGeneralize,
                        key_frequencies = result.KeyFrequencies.Frequencies,
                        key_frequency_norm_fraction = result.KeyFrequencies.Explained,
                        training_seconds = Math.Round(result.TrainingTime.TotalSeconds, 1),
                        training_cpu_seconds = Math.Round(result.TrainingCpuTime.TotalSeconds, 1),
                        from_cache = result.FromCache,
                        model_dir = Path.GetFullPath(folder),
                    }));
                }
                else
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"modular addition p={config.P} seed={config.Seed}: train acc {result.TrainAccuracy:P2}, test acc {result.TestAccuracy:P2} after {result.Steps} steps" +
                        $" (memorized at {result.StepsToMemorize?.ToString(CultureInfo.InvariantCulture) ?? "-"}, generalized at {result.StepsToGeneralize?.ToString(CultureInfo.InvariantCulture) ?? "-"};" +
                        $" {result.TrainingTime.TotalSeconds:F0} s{(result.FromCache ? ", cached" : "")})"));
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"key frequencies {string.Join(", ", result.KeyFrequencies.Frequencies)} explain {result.KeyFrequencies.Explained:P1} of the embedding's squared norm"));
                    Console.Out.WriteLine($"model: {Path.GetFullPath(folder)}");
                }
                return Task.FromResult(0);
            }
            catch (SaeSharpException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }
        });
        return command;
    }

    private static Command CreateExport()
    {
        var model = new Option<string>("--model") { Description = "Host folder (host.json + model.safetensors), e.g. what train-modadd wrote.", Required = true };
        var output = new Option<string>("--out") { Description = "The ONNX file to write.", Required = true };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing output file." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object to stdout." };
        var command = new Command("export", "Export a host transformer to ONNX (opset 17, input_ids [batch, sequence] int64 → logits).");
        foreach (var option in new Option[] { model, output, force, json }) command.Options.Add(option);
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            try
            {
                var outPath = r.GetValue(output)!;
                if (File.Exists(outPath) && !r.GetValue(force))
                    throw new SaeSharpException("exists; pass --force to overwrite it", outPath);
                using var host = HostTransformer.LoadFolder(r.GetValue(model)!);
                OnnxExporter.Export(host, outPath);
                var size = new FileInfo(outPath).Length;
                if (r.GetValue(json))
                    Console.Out.WriteLine(JsonSerializer.Serialize(new { onnx = Path.GetFullPath(outPath), bytes = size, opset = OnnxExporter.Opset, layers = host.Config.LayerCount }));
                else
                    Console.Out.WriteLine($"wrote {Path.GetFullPath(outPath)} ({size} bytes, opset {OnnxExporter.Opset})");
                return Task.FromResult(0);
            }
            catch (SaeSharpException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }
        });
        return command;
    }

    /// <summary>Reports on the training thread (Progress&lt;T&gt; would post to the thread pool and print out of order).</summary>
    private sealed class ActionProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
