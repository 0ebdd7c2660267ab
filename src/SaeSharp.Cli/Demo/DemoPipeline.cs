using System.Diagnostics;
using System.Text;
using SaeSharp.Analysis;
using SaeSharp.Cli.Internals;
using SaeSharp.Evaluation;
using SaeSharp.Harvest;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Hosts;
using SaeSharp.IO;
using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Cli.Demo;

/// <summary>
/// The whole pipeline on the embedded default: train (or reuse) the modular-addition host, export it to ONNX,
/// harvest the residual stream at <c>=</c> over all p² inputs through ONNX Runtime into a store, train a TopK SAE
/// on it, and measure it against the host's known mechanism.
/// </summary>
internal static class DemoPipeline
{
    public static async Task<DemoResult> RunAsync(DemoOptions options, bool quiet, CancellationToken cancellation)
    {
        var stages = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Stage(string name)
        {
            stages[name] = Math.Round(clock.Elapsed.TotalSeconds, 2);
            clock.Restart();
        }
        Directory.CreateDirectory(options.OutputDirectory);

        // 1. The host, from the cache when it is there.
        var hostConfig = new ModAddConfig(Seed: options.HostSeed);
        var hostFolder = ModAddCache.DefaultFolder(hostConfig);
        var host = await ConsoleProgress.RunAsync($"host (cache {hostFolder})", quiet, progress => Task.Run(() =>
            ModAddCache.LoadOrTrain(hostConfig, hostFolder, options.RetrainHost, new SyncProgress<ModAddLogEntry>(e =>
                progress.Report(new ConsoleProgress.Update(e.Step, hostConfig.MaxSteps, $"step {e.Step} test acc {e.TestAccuracy:P1}"))), cancellation)));
        int p = hostConfig.P;
        Stage("host");

        // 2. Our ONNX export of it.
        var onnxPath = Path.Combine(options.OutputDirectory, "host.onnx");
        OnnxExporter.Export(host.Model, onnxPath);
        Stage("export");

        // 3. Harvest every input a b = through ONNX Runtime; keep the rows at the = position.
        var inputsPath = Path.Combine(options.OutputDirectory, "inputs.json");
        var ids = new StringBuilder("[");
        for (int a = 0; a < p; a++)
            for (int b = 0; b < p; b++)
                ids.Append(a == 0 && b == 0 ? "" : ",").Append($"[{a},{b},{p}]");
        SaeSharp.Internals.AtomicFile.WriteAllText(inputsPath, ids.Append(']').ToString());
        var storePath = Path.Combine(options.OutputDirectory, "store");
        if (Directory.Exists(storePath)) Directory.Delete(storePath, recursive: true);
        var harvest = await ConsoleProgress.RunAsync("harvest (ONNX Runtime)", quiet, progress => Task.Run(() =>
            Harvester.Run(new HarvestConfig
            {
                ModelPath = onnxPath, Hooks = [DemoOptions.Hook], OutputPath = storePath, TokenIdsPath = inputsPath,
                ContextLength = 3, BatchSize = 1024,
            }, new SyncProgress<HarvestProgress>(h => progress.Report(new ConsoleProgress.Update(h.Tokens, h.TargetTokens, null))), cancellation)));
        using var residualND = ReadEqualsRows(storePath, p);
        using var torchResidualND = ModAddGroundTruth.ResidualAtEquals(host.Model, DemoOptions.Hook);
        double maxDiff = residualND.sub(torchResidualND).abs().max().item<float>();
        Stage("harvest");

        // 4. A TopK SAE on those p² rows.
        var saeDirectory = Path.Combine(options.OutputDirectory, "sae");
        if (Directory.Exists(saeDirectory)) Directory.Delete(saeDirectory, recursive: true);
        var saeConfig = new SaeConfig(residualND.shape[1] is var d ? (int)d : 0, options.Latents, new TopKArchitecture(options.K));
        var trainConfig = new TrainConfig
        {
            Steps = options.Steps, BatchSize = 1024, LearningRate = 1e-3, Seed = options.HostSeed, LogEvery = 50,
            CheckpointEvery = 0, DeadWindowTokens = 50_000,
        }.Validate(saeConfig);
        using var source = new InMemoryActivationSource(residualND, seed: options.HostSeed);
        using var trainer = new SaeTrainer(saeConfig, trainConfig, new TrainerOptions
        {
            OutputDirectory = saeDirectory,
            Metadata = new Dictionary<string, string> { ["model_name"] = $"modadd-p{p}-seed{options.HostSeed}", ["hook_name"] = DemoOptions.Hook, ["context_size"] = "3" },
        });
        var curve = new List<TrainMetrics>();
        await ConsoleProgress.RunAsync("sae", quiet, progress => trainer.TrainAsync(source, new SyncProgress<TrainProgress>(t =>
        {
            if (t.Metrics is { } m) curve.Add(m);
            progress.Report(new ConsoleProgress.Update(t.Step, t.TotalSteps, t.Metrics is { } x ? $"fvu {x.Fvu:F3} l0 {x.L0:F1}" : null));
        }), cancellation));
        Stage("sae");

        // 5. Measure the saved SAE (as anyone loading the folder would see it) against the ground truth.
        using var sae = SaeCheckpoint.Load(saeDirectory);
        using var evalSource = new InMemoryActivationSource(residualND, shuffle: false);
        var eval = SaeEvaluator.Evaluate(sae, evalSource, batches: 1, batchSize: p * p);
        var truth = ModAddGroundTruth.Analyze(sae, residualND, p, host.KeyFrequencies.Frequencies.ToArray());
        var spliced = ModAddGroundTruth.Splice(host.Model, sae, DemoOptions.Hook);
        var (l0PerInput, firing, grids) = LatentViews(sae, residualND, p, truth);
        Stage("analysis");

        return new DemoResult(host, onnxPath, storePath, harvest.Rows, maxDiff, saeDirectory, curve, eval, truth, spliced,
            l0PerInput, firing, grids, stages);
    }

    /// <summary>The store's rows at the = position (every third row: sequences of a, b, =), <c>[p², D]</c>.</summary>
    private static Tensor ReadEqualsRows(string storePath, int p)
    {
        using var store = ActivationStore.Open(storePath);
        int hook = store.HookIndex(DemoOptions.Hook);
        int d = store.Hooks[hook].D;
        if (store.Rows != 3L * p * p)
            throw new SaeSharpException($"the store holds {store.Rows} rows, expected {3L * p * p} (3 per input)", storePath);
        var row = new float[d];
        var all = new float[p * p * d];
        for (int i = 0; i < p * p; i++)
        {
            store.ReadRow(hook, 3L * i + 2, row);
            row.CopyTo(all, i * d);
        }
        return tensor(all, [p * p, d]);
    }

    private static (double[] L0PerInput, double[] Firing, List<(int, double[,])> Grids) LatentViews(Sae sae, Tensor residualND, int p, GroundTruthSummary truth)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var latentsNL = sae.Encode(residualND);
        var l0 = latentsNL.ne(0).sum(1).to(ScalarType.Float64).data<double>().ToArray();
        var firing = latentsNL.ne(0).to(ScalarType.Float64).mean([0]).data<double>().ToArray();
        var grids = new List<(int, double[,])>();
        foreach (var latent in truth.LiveLatents.Take(6))
        {
            var values = latentsNL.select(1, latent.Latent).to(ScalarType.Float64).data<double>().ToArray();
            var grid = new double[p, p];
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                    grid[a, b] = values[a * p + b];
            grids.Add((latent.Latent, grid));
        }
        return (l0, firing, grids);
    }
}
