// The consumer test's program (scripts/consumer-test.sh): run as the Program.cs of a `dotnet new console` project
// that references the packed SaeSharp, SaeSharp.Harvest and SaeSharp.Crosscoders packages and nothing else.
// Each step checks what it got, so a step that runs but returns nonsense fails the test too.
// args[0]: a folder holding model.onnx (a small GPT-Neo decoder), tokenizer.json and corpus.txt.
using SaeSharp;
using SaeSharp.Crosscoders;
using SaeSharp.Harvest;
using SaeSharp.Harvest.Store;
using SaeSharp.IO;
using SaeSharp.Training;

var input = args[0];
var work = Path.Combine(Environment.CurrentDirectory, "runs");

// 1. A small SAE on a synthetic source with a known dictionary (libtorch, with the GLIBCXX fix on Debian 12).
using (var synthetic = new SyntheticActivationSource(new SyntheticSourceConfig(InputDim: 32, TrueFeatures: 128, ActivePerRow: 4) { Seed = 3 }))
{
    var folder = Path.Combine(work, "sae");
    using var trainer = new SaeTrainer(new SaeConfig(InputDim: 32, LatentCount: 128, new TopKArchitecture(K: 4)),
        new TrainConfig { Steps = 300, BatchSize = 512, LearningRate = 2e-3 }, new TrainerOptions { OutputDirectory = folder, Overwrite = true });
    var trained = await trainer.TrainAsync(synthetic);
    using var loaded = SaeCheckpoint.Load(folder);
    Check(trained.FinalMetrics.Fvu < 0.9 && loaded.LatentCount == 128, $"SAE: FVU {trained.FinalMetrics.Fvu:F3}, {loaded.LatentCount} latents loaded");
}

// 2. Harvest two hooks of a small ONNX decoder through ONNX Runtime (the CPU native from the package dependency).
var store = Path.Combine(work, "store");
var harvest = Harvester.Run(new HarvestConfig
{
    ModelPath = Path.Combine(input, "model.onnx"), TokenizerPath = Path.Combine(input, "tokenizer.json"),
    CorpusPath = Path.Combine(input, "corpus.txt"), Hooks = ["resid_post.0", "resid_post.1"], ContextLength = 16,
    Tokens = 96, OutputPath = store, Overwrite = true,
});
Check(harvest.Rows == 96, $"harvest: {harvest.Rows} rows of {string.Join(", ", harvest.Hooks)}");

// 3. A crosscoder on the two harvested layers, a few steps, saved and loaded back.
using (var layer0 = StoreActivationSource.Open(store, "resid_post.0", new StoreSourceOptions { Seed = 1 }))
using (var layer1 = StoreActivationSource.Open(store, "resid_post.1", new StoreSourceOptions { Seed = 1 }))
using (var paired = new PairedActivationSource([layer0, layer1]))
{
    var folder = Path.Combine(work, "crosscoder");
    using var trainer = new CrosscoderTrainer(new CrosscoderConfig { InputDim = layer0.InputDim, LatentCount = 64, K = 4 },
        new TrainConfig { Steps = 20, BatchSize = 32 }, new TrainerOptions { OutputDirectory = folder, Overwrite = true });
    var trained = await trainer.TrainAsync(paired);
    using var loaded = CrosscoderCheckpoint.Load(folder);
    Check(loaded.Step > 0 && loaded.SourceScales.Count == 2 && double.IsFinite(trained.FinalMetrics.Fvu),
        $"crosscoder: {loaded.SourceScales.Count} sources of width {layer0.InputDim}, step {loaded.Step}, FVU {trained.FinalMetrics.Fvu:F3}");
}
Console.WriteLine("consumer program ok");

static void Check(bool ok, string what)
{
    Console.WriteLine((ok ? "ok: " : "FAILED: ") + what);
    if (!ok) Environment.Exit(1);
}
