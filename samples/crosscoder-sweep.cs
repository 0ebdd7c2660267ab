#:project ../src/SaeSharp.Crosscoders/SaeSharp.Crosscoders.csproj
#:project ../src/SaeSharp.Testbeds/SaeSharp.Testbeds.csproj
#:property SaeSharpNativeTorch=true
// One crosscoder on two cached modular-addition hosts, scored against their key frequencies at the hook: the
// experiment behind docs/crosscoder-demo-results.md, with every setting on the command line.
//
//   dotnet run samples/crosscoder-sweep.cs -- --hook resid_mid.0 --sparsity batchtopk --latents 256 --k 8 --steps 2000
//   dotnet run samples/crosscoder-sweep.cs -- --sparsity l1 --l1 0.3 --permute-b     (B's rows shuffled: independent sources)
//
// Options: --hook, --sparsity l1|batchtopk, --latents, --k, --l1, --steps, --init-norm (decoder init norm, 0.08),
// --dominance (share, 0.5), --seed-a, --seed-b, --permute-b, --init-from-l1 (train an L1 crosscoder first and
// start from its weights), --cache (folder of cached hosts).
//
// Hosts come from --cache, by default $XDG_CACHE_HOME/saesharp/hosts (~/.cache when unset) as for the tool, and are
// trained there when missing (about 2 minutes each on 2 cores).
using SaeSharp.Training;
using System.Diagnostics;
using System.Globalization;
using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.ModularAddition;
using TorchSharp;
using static TorchSharp.torch;

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
var inv = CultureInfo.InvariantCulture;
string hook = Arg("hook", "resid_mid.0");
var sparsity = Arg("sparsity", "batchtopk") == "l1" ? CrosscoderSparsity.L1 : CrosscoderSparsity.BatchTopK;
int latents = int.Parse(Arg("latents", "256"), inv), k = int.Parse(Arg("k", "8"), inv), steps = int.Parse(Arg("steps", "2000"), inv);
double l1 = double.Parse(Arg("l1", "0.3"), inv), threshold = double.Parse(Arg("dominance", "0.5"), inv);
double initNorm = double.Parse(Arg("init-norm", "0.08"), inv);
long seedA = long.Parse(Arg("seed-a", "0"), inv), seedB = long.Parse(Arg("seed-b", "1"), inv);
bool permuteB = args.Contains("--permute-b");
const int p = 113;
var xdgCache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } home
    ? home : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
string cache = Arg("cache", Path.Combine(xdgCache, "saesharp", "hosts"));

var configA = new ModAddConfig(P: p, Seed: seedA);
var configB = new ModAddConfig(P: p, Seed: seedB);
using var hostA = ModAddCache.LoadOrTrain(configA, ModAddCache.EntryFolder(cache, configA));
using var hostB = ModAddCache.LoadOrTrain(configB, ModAddCache.EntryFolder(cache, configB));

// The residual stream at the = position for every input, rows a·p + b.
var actsA = ModAddGroundTruth.ResidualAtEquals(hostA.Model, hook);
var actsB = ModAddGroundTruth.ResidualAtEquals(hostB.Model, hook);
var keysA = Fourier.ActivationKeyFrequencies(actsA, p);
var keysB = Fourier.ActivationKeyFrequencies(actsB, p);
Console.WriteLine($"A: embedding keys {string.Join(",", hostA.KeyFrequencies.Frequencies)}; at {hook} {string.Join(",", keysA.Frequencies)} ({keysA.Explained:P1} of variance)");
Console.WriteLine($"B: embedding keys {string.Join(",", hostB.KeyFrequencies.Frequencies)}; at {hook} {string.Join(",", keysB.Frequencies)} ({keysB.Explained:P1} of variance)");
if (permuteB)
{
    // Pairs A's row for (a, b) with B's row for another input: the sources become independent, so every latent
    // should come out exclusive to one of them.
    using var generator = new Generator(7);
    actsB = actsB.index_select(0, randperm(actsB.shape[0], generator: generator)).contiguous();
    Console.WriteLine("B's rows permuted: the frequency truth for B no longer applies; look at the class counts");
}

var config = new CrosscoderConfig { InputDim = (int)actsA.shape[1], LatentCount = latents, Sparsity = sparsity, K = k, SourceNames = ["A", "B"], DecoderInitNorm = initNorm };
var trainConfig = new TrainConfig
{
    Steps = steps, BatchSize = 512, SparsityCoefficient = l1, LogEvery = Math.Max(1, steps / 10), CheckpointEvery = 0,
    DeadWindowTokens = 2L * p * p, InitSampleRows = p * p,
};
var clock = Stopwatch.StartNew();
using var source = PairedActivationSource.FromTensors([actsA, actsB], seed: 0);
using var trainer = new CrosscoderTrainer(config, trainConfig);
if (args.Contains("--init-from-l1"))
{
    // Start from a trained L1 crosscoder's weights (its latents are mostly exclusive) to see whether the chosen
    // rule keeps that solution or moves away from it.
    using var l1Source = PairedActivationSource.FromTensors([actsA, actsB], seed: 0);
    using var l1Trainer = new CrosscoderTrainer(config with { Sparsity = CrosscoderSparsity.L1 }, trainConfig);
    var l1Result = l1Trainer.TrainAsync(l1Source).GetAwaiter().GetResult();
    using var l1RowsNSD = stack([actsA, actsB], 1);
    var l1Diff = ModelDiff.Analyze(l1Trainer.Crosscoder, l1Result.SourceScales, l1RowsNSD);
    Console.WriteLine($"L1 start: shared {l1Diff.Count(LatentClass.Shared)}, A-only {l1Diff.Count(LatentClass.AOnly)}, B-only {l1Diff.Count(LatentClass.BOnly)}");
    using var noGrad = no_grad();
    var from = l1Trainer.Crosscoder.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
    foreach (var (name, parameter) in trainer.Crosscoder.named_parameters())
        parameter.copy_(from[name]);
}
var result = trainer.TrainAsync(source).GetAwaiter().GetResult();
Console.WriteLine(string.Create(inv, $"{sparsity} L {latents} k {k} λ {l1} steps {steps}: trained in {clock.Elapsed.TotalSeconds:F0} s, FVU {string.Join(" / ", result.FinalMetrics.SourceFvu.Select(v => v.ToString("F3", inv)))}, L0 {result.FinalMetrics.L0:F1}"));

using var rowsNSD = stack([actsA, actsB], 1);
var diff = ModelDiff.Analyze(trainer.Crosscoder, result.SourceScales, rowsNSD);
using var scalesS1 = tensor(result.SourceScales.Select(v => (float)v).ToArray()).view(1, -1, 1);
using var preNL = trainer.Crosscoder.PreActivations(rowsNSD.mul(scalesS1)).detach().to_type(ScalarType.Float64);
var keyA = keysA.Frequencies.ToHashSet();
var keyB = keysB.Frequencies.ToHashSet();
LatentClass? Truth(int f) => keyA.Contains(f) && keyB.Contains(f) ? LatentClass.Shared : keyA.Contains(f) ? LatentClass.AOnly : keyB.Contains(f) ? LatentClass.BOnly : null;

int scored = 0, correct = 0;
var counts = new Dictionary<string, int>();
foreach (var latent in diff.Latents.Where(l => l.Class != LatentClass.Dead))
{
    // The frequency that holds the largest share of the variance of the latent's pre-activation over the grid.
    using var gridPP = preNL.select(1, latent.Index).view(p, p);
    using var centred = gridPP.sub(gridPP.mean());
    var (best, share) = Fourier.ComponentFractions(centred).Dominant();
    var truth = Truth(best);
    string key = $"{latent.Class}/{truth?.ToString() ?? "none"}";
    counts[key] = counts.GetValueOrDefault(key) + 1;
    if (share < threshold || truth is null) continue;
    scored++;
    if (truth == latent.Class) correct++;
}
Console.WriteLine($"live {diff.Latents.Count(l => l.Class != LatentClass.Dead)}: shared {diff.Count(LatentClass.Shared)}, A-only {diff.Count(LatentClass.AOnly)}, B-only {diff.Count(LatentClass.BOnly)}");
Console.WriteLine(scored > 0 ? $"dominated (share ≥ {threshold}) and scored {scored}: {correct} classified as the truth ({(double)correct / scored:P1})" : "no latent is dominated by a key frequency");
Console.WriteLine("class / truth of its strongest frequency, all live latents: " + string.Join("  ", counts.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}")));
