// A first experiment: how does the sparsity k of a TopK SAE change how many of a known dictionary's features it
// recovers? The synthetic source draws each row from 512 true features in 64 dimensions, 8 active per row, so the
// answer is known. For scale: the README's run of this source (k = 8, 2,500 steps) recovers about 90 %.
using SaeSharp;
using SaeSharp.IO;
using SaeSharp.Training;

const int Steps = 2500;
var source = new SyntheticSourceConfig(InputDim: 64, TrueFeatures: 512, ActivePerRow: 8) { Seed = 1 };

Console.WriteLine("k   FVU     L0     recovered");
foreach (int k in new[] { 4, 8, 16 })
{
    using var data = new SyntheticActivationSource(source);
    var folder = Path.Combine("runs", $"topk-k{k}");
    using var trainer = new SaeTrainer(new SaeConfig(InputDim: 64, LatentCount: 512, new TopKArchitecture(K: k)),
        new TrainConfig { Steps = Steps, BatchSize = 1024, LearningRate = 2e-3 },
        new TrainerOptions { OutputDirectory = folder, Overwrite = true }); // each run replaces its folder
    var result = await trainer.TrainAsync(data);
    var metrics = result.FinalMetrics;
    Console.WriteLine($"{k,-3} {metrics.Fvu,-7:F3} {metrics.L0,-6:F1} {data.RecoveredFraction(result.Sae.DecoderWeights),9:P1}");

    using var loaded = SaeCheckpoint.Load(folder); // a SAELens folder: cfg.json + sae_weights.safetensors
}
