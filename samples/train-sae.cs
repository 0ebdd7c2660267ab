#:project ../src/SaeSharp/SaeSharp.csproj
#:property SaeSharpNativeTorch=true
// The README's library example, runnable: a TopK SAE on the synthetic source with a known dictionary, saved as a
// SAELens folder, loaded back, and scored on how many true features it recovered.
//
//   dotnet run -c Release samples/train-sae.cs -- [output folder, default runs/synthetic-sample] [--steps N]
using SaeSharp;
using SaeSharp.IO;
using SaeSharp.Training;

string output = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "runs/synthetic-sample";
int stepsIndex = Array.IndexOf(args, "--steps");
int steps = stepsIndex >= 0 && stepsIndex + 1 < args.Length ? int.Parse(args[stepsIndex + 1]) : 2500;

using var source = new SyntheticActivationSource(new SyntheticSourceConfig(InputDim: 64, TrueFeatures: 512, ActivePerRow: 8));
var sae = new SaeConfig(InputDim: 64, LatentCount: 512, new TopKArchitecture(K: 8));
using var trainer = new SaeTrainer(sae, new TrainConfig { Steps = steps, BatchSize = 1024, LearningRate = 2e-3 },
    new TrainerOptions { OutputDirectory = output, Overwrite = true });
var result = await trainer.TrainAsync(source);
Console.WriteLine($"trained {steps} steps: FVU {result.FinalMetrics.Fvu:F3}, L0 {result.FinalMetrics.L0:F1}");
Console.WriteLine($"recovered {source.RecoveredFraction(result.Sae.DecoderWeights):P1} of the true features (a decoder row within cosine 0.9)");

using var loaded = SaeCheckpoint.Load(output);
Console.WriteLine($"loaded back from {Path.GetFullPath(output)}: {loaded.LatentCount} latents");
