using System.Diagnostics;
using System.Text;
using SaeSharp.Evaluation;
using SaeSharp.Harvest;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.IO;
using SaeSharp.Testbeds.ModularAddition;
using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Demos;

/// <summary>
/// The whole pipeline on the modular-addition host: train (or reuse) the host, export it to ONNX, harvest the
/// residual stream at <c>=</c> over all p² inputs through ONNX Runtime into a store, train a TopK SAE on it, and
/// measure it against the host's known mechanism.
/// </summary>
public static class SaeDemo
{
    /// <summary>The stages <see cref="RunAsync"/> reports, in order.</summary>
    public static IReadOnlyList<string> Stages { get; } = ["host", "export", "harvest", "sae", "analysis"];

    /// <summary>Runs the demo, reporting each stage's progress on the thread that does the work.</summary>
    /// <exception cref="SaeSharpException">An option is invalid, a cached file is corrupt, or a stage failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static async Task<SaeDemoResult> RunAsync(SaeDemoOptions options, IProgress<SaeDemoProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var stages = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Stage(string name)
        {
            stages[name] = Math.Round(clock.Elapsed.TotalSeconds, 2);
            clock.Restart();
        }
        // The host stops once it generalises, usually long before MaxSteps: its total is an upper bound and says so.
        void Report(string stage, double done, double total, string? status) => progress?.Report(new SaeDemoProgress(stage, done, total, status));
        Directory.CreateDirectory(options.OutputDirectory);

        // 1. The host, from the cache when it is there.
        var hostConfig = new ModAddConfig(Seed: options.HostSeed);
        var hostFolder = ModAddCache.EntryFolder(options.CacheFolder, hostConfig);
        Report("host", 0, hostConfig.MaxSteps, $"(cache {hostFolder})");
        var host = await Task.Run(() => ModAddCache.LoadOrTrain(hostConfig, hostFolder, options.RetrainHost,
            new CallingThreadProgress<ModAddLogEntry>(e => Report("host", e.Step, hostConfig.MaxSteps, HostStatus(e, hostConfig.MaxSteps))), cancellation), cancellation);
        try
        {
            int p = hostConfig.P;
            Stage("host");

            // 2. Our ONNX export of it.
            Report("export", 0, 1, null);
            var onnxPath = Path.Combine(options.OutputDirectory, "host.onnx");
            OnnxExporter.Export(host.Model, onnxPath);
            Stage("export");

            // 3. Harvest every input a b = through ONNX Runtime; keep the rows at the = position.
            var inputsPath = Path.Combine(options.OutputDirectory, "inputs.json");
            var ids = new StringBuilder("[");
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                    ids.Append(a == 0 && b == 0 ? "" : ",").Append($"[{a},{b},{p}]");
            AtomicFile.WriteAllText(inputsPath, ids.Append(']').ToString());
            var storePath = Path.Combine(options.OutputDirectory, "store");
            if (Directory.Exists(storePath)) Directory.Delete(storePath, recursive: true);
            Report("harvest", 0, 3L * p * p, null);
            var harvest = await Task.Run(() => Harvester.Run(new HarvestConfig
            {
                ModelPath = onnxPath, Hooks = [SaeDemoOptions.Hook], OutputPath = storePath, TokenIdsPath = inputsPath,
                ContextLength = 3, BatchSize = 1024, Host = new OnnxHostOptions { IntraOpThreads = options.Threads },
            }, new CallingThreadProgress<HarvestProgress>(h => Report("harvest", h.Tokens, h.TargetTokens, null)), cancellation), cancellation);
            using var residualND = ReadEqualsRows(storePath, p);
            using var torchResidualND = ModAddGroundTruth.ResidualAtEquals(host.Model, SaeDemoOptions.Hook);
            double maxDiff = residualND.sub(torchResidualND).abs().max().item<float>();
            Stage("harvest");

            // 4. A TopK SAE on those p² rows.
            var saeDirectory = Path.Combine(options.OutputDirectory, "sae");
            if (Directory.Exists(saeDirectory)) Directory.Delete(saeDirectory, recursive: true);
            var saeConfig = new SaeConfig((int)residualND.shape[1], options.Latents, new TopKArchitecture(options.K));
            var trainConfig = new TrainConfig
            {
                Steps = options.Steps, BatchSize = 1024, LearningRate = 1e-3, Seed = options.HostSeed, LogEvery = 50,
                CheckpointEvery = 0, DeadWindowTokens = 50_000,
            }.Validate(saeConfig);
            using var source = new InMemoryActivationSource(residualND, seed: options.HostSeed);
            using var trainer = new SaeTrainer(saeConfig, trainConfig, new TrainerOptions
            {
                OutputDirectory = saeDirectory,
                Metadata = new Dictionary<string, string> { ["model_name"] = ModAddCache.EntryName(hostConfig), ["hook_name"] = SaeDemoOptions.Hook, ["context_size"] = "3", ["prepend_bos"] = "false" },
            });
            var curve = new List<TrainMetrics>();
            Report("sae", 0, options.Steps, null);
            await trainer.TrainAsync(source, new CallingThreadProgress<TrainProgress>(t =>
            {
                if (t.Metrics is { } m) curve.Add(m);
                Report("sae", t.Step, t.TotalSteps, t.Metrics is { } x ? $"fvu {x.Fvu:F3} l0 {x.L0:F1}" : null);
            }), cancellation);
            Stage("sae");

            // 5. Measure the saved SAE (as anyone loading the folder would see it) against the ground truth.
            Report("analysis", 0, 1, null);
            using var sae = SaeCheckpoint.Load(saeDirectory);
            using var evalSource = new InMemoryActivationSource(residualND, shuffle: false);
            var eval = SaeEvaluator.Evaluate(sae, evalSource, batches: 1, batchSize: p * p);
            var truth = ModAddGroundTruth.Analyze(sae, residualND, p, host.KeyFrequencies.Frequencies.ToArray());
            var spliced = ModAddGroundTruth.Splice(host.Model, sae, SaeDemoOptions.Hook);
            var (l0PerInput, firing, grids) = LatentViews(sae, residualND, p, truth);
            Stage("analysis");

            return new SaeDemoResult(options, host, hostFolder, onnxPath, storePath, harvest.Rows, maxDiff, saeDirectory, curve, eval, truth, spliced,
                l0PerInput, firing, grids, stages);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>The store's rows at the = position (every third row: sequences of a, b, =), <c>[p², D]</c>.</summary>
    private static Tensor ReadEqualsRows(string storePath, int p)
    {
        using var store = ActivationStore.Open(storePath);
        int hook = store.HookIndex(SaeDemoOptions.Hook);
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

    /// <summary>Reports on the calling thread (<see cref="Progress{T}"/> would post to the thread pool and reorder updates).</summary>
    /// <summary>
    /// The host stage's status line: its total (<see cref="ModAddConfig.MaxSteps"/>) is an upper bound, since training
    /// stops once the host generalises, so the line says so first (a narrow terminal cuts the end of a line).
    /// </summary>
    internal static string HostStatus(ModAddLogEntry entry, int maxSteps) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"step {entry.Step:N0} of at most {maxSteps:N0} (stops once it generalises), test acc {entry.TestAccuracy:P1}");
}
