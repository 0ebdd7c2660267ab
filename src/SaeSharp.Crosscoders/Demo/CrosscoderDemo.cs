using System.Diagnostics;
using System.Globalization;
using SaeSharp.Analysis;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Hosts;
using SaeSharp.Internals;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Demo;

/// <summary>
/// The embedded model-diffing case with ground truth. Two modular-addition hosts trained from different seeds
/// learn different sets of key frequencies; a student with a smaller MLP is distilled from host A. Their residual
/// streams at the <c>=</c> position after the block (<c>resid_post.0</c>) over all p² inputs are paired row by row,
/// crosscoders are trained on A vs B (L1 and BatchTopK rules) and on A vs the student, and every latent whose
/// activation over the (a, b) grid is dominated by one frequency is scored: a frequency key to both models should
/// give a shared latent, one key to a single model a latent exclusive to it.
/// </summary>
public static class CrosscoderDemo
{
    /// <summary>The hook the demo reads from every host.</summary>
    public const string HookPoint = "resid_post.0";

    /// <summary>Runs the demo (hosts come from the cache when present, else are trained and cached).</summary>
    /// <exception cref="SaeSharpException">An option is invalid or a cached file is corrupt.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static CrosscoderDemoResult Run(CrosscoderDemoOptions options, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        int p = options.P;
        var configA = new ModAddConfig(P: p, Seed: options.SeedA);
        var configB = new ModAddConfig(P: p, Seed: options.SeedB);
        progress?.Report($"host A (seed {options.SeedA})");
        using var hostA = ModAddCache.LoadOrTrain(configA, HostFolder(options, configA), cancellationToken: cancellationToken);
        progress?.Report($"host B (seed {options.SeedB})");
        using var hostB = ModAddCache.LoadOrTrain(configB, HostFolder(options, configB), cancellationToken: cancellationToken);
        using var inputs = ModAddTask.AllInputs(p);
        using var labels = ModAddTask.AllLabels(p);
        var models = new List<DemoModel>
        {
            new("A", $"modular addition, seed {options.SeedA}", hostA.KeyFrequencies.Frequencies, Accuracy(hostA.Model, inputs, labels), hostA.FromCache),
            new("B", $"modular addition, seed {options.SeedB}", hostB.KeyFrequencies.Frequencies, Accuracy(hostB.Model, inputs, labels), hostB.FromCache),
        };
        using var actsA = Capture(hostA.Model, inputs);
        using var actsB = Capture(hostB.Model, inputs);

        var scores = new List<DemoScore>();
        var hostsAB = new[] { hostA.Model, hostB.Model };
        foreach (var sparsity in new[] { CrosscoderSparsity.L1, CrosscoderSparsity.BatchTopK })
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = sparsity == CrosscoderSparsity.L1 ? "l1" : "batchtopk";
            progress?.Report($"crosscoder {name}: A vs B");
            scores.Add(Score(name, sparsity, options, models[0], models[1], actsA, actsB, hostsAB, inputs));
        }

        double agreement = double.NaN;
        if (options.IncludeStudent)
        {
            progress?.Report($"student: distilling host A into d_mlp {options.StudentMlpDim}");
            var (student, fromCache) = LoadOrDistill(options, hostA.Model, inputs, cancellationToken);
            using (student)
            {
                using (no_grad())
                using (var scope = NewDisposeScope())
                    agreement = student.ForwardLastPosition(inputs).argmax(1).eq(hostA.Model.ForwardLastPosition(inputs).argmax(1))
                        .to_type(ScalarType.Float64).mean().item<double>();
                models.Add(new DemoModel("student", $"distilled from A (d_mlp {options.StudentMlpDim}, {options.StudentSteps} steps on A's logits over all inputs)",
                    ModAddTrainer.KeyFrequenciesOf(student).Frequencies, Accuracy(student, inputs, labels), fromCache));
                using var actsStudent = Capture(student, inputs);
                progress?.Report("crosscoder distilled: A vs student");
                scores.Add(Score("distilled", CrosscoderSparsity.BatchTopK, options, models[0], models[2], actsA, actsStudent, [hostA.Model, student], inputs));
            }
        }
        return new CrosscoderDemoResult(options, models, agreement, scores, clock.Elapsed.TotalSeconds);
    }

    private static string HostFolder(CrosscoderDemoOptions options, ModAddConfig config) =>
        options.CacheFolder is { } folder ? Path.Combine(folder, Path.GetFileName(ModAddCache.DefaultFolder(config))) : ModAddCache.DefaultFolder(config);

    private static double Accuracy(HostTransformer model, Tensor inputs, Tensor labels) => ModAddTrainer.Evaluate(model, inputs, labels).Accuracy;

    /// <summary>The residual stream at the <c>=</c> position after the block, over all inputs, <c>[p², D]</c>.</summary>
    internal static Tensor Capture(HostTransformer model, Tensor inputs)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var hooks = new HostHooks().Capture(HookPoint);
        model.Forward(inputs, hooks);
        return hooks.Captured[HookPoint].select(1, -1).contiguous().MoveToOuterDisposeScope();
    }

    private static DemoScore Score(string name, CrosscoderSparsity sparsity, CrosscoderDemoOptions options, DemoModel modelA, DemoModel modelB,
        Tensor actsA, Tensor actsB, HostTransformer[] hosts, Tensor inputs)
    {
        int p = options.P;
        var config = new CrosscoderConfig
        {
            InputDim = (int)actsA.shape[1], LatentCount = options.LatentCount, Sparsity = sparsity, K = options.K,
            SourceNames = [modelA.Name, modelB.Name],
        };
        var trainConfig = new CrosscoderTrainConfig
        {
            Steps = options.Steps, BatchSize = options.BatchSize, LearningRate = options.LearningRate, L1Coefficient = options.L1Coefficient,
            Seed = options.Seed, LogEvery = Math.Max(1, options.Steps / 10), CheckpointEvery = 0,
            // The whole data set is p² rows: a latent silent for two passes over it is dead.
            DeadWindowTokens = 2L * p * p, InitSampleRows = p * p,
        };
        var clock = Stopwatch.StartNew();
        using var source = PairedActivationSource.FromTensors([actsA, actsB], options.Seed);
        using var trainer = new CrosscoderTrainer(config, trainConfig);
        var result = trainer.TrainAsync(source).GetAwaiter().GetResult();
        double seconds = clock.Elapsed.TotalSeconds;
        var crosscoder = trainer.Crosscoder;
        using var rowsNSD = stack([actsA, actsB], 1);
        var diff = ModelDiff.Analyze(crosscoder, result.SourceScales, rowsNSD);

        var keyA = modelA.KeyFrequencies.ToHashSet();
        var keyB = modelB.KeyFrequencies.ToHashSet();
        var (dominant, share) = DominantFrequencies(crosscoder, result.SourceScales, rowsNSD, p, options.DominanceThreshold);
        var order = new[] { LatentClass.Shared, LatentClass.AOnly, LatentClass.BOnly };
        var confusion = new int[3, 3];
        int scored = 0, correct = 0, dominated = 0;
        foreach (var latent in diff.Latents)
        {
            int k = dominant[latent.Index];
            if (latent.Class == LatentClass.Dead || k == 0) continue;
            dominated++;
            var truth = Truth(k, keyA, keyB);
            if (truth is null) continue;
            scored++;
            int t = Array.IndexOf(order, truth.Value), c = Array.IndexOf(order, latent.Class);
            confusion[t, c]++;
            if (t == c) correct++;
        }
        var frequencies = keyA.Union(keyB).Order().Select(k =>
        {
            var latents = diff.Latents.Where(l => l.Class != LatentClass.Dead && dominant[l.Index] == k).ToArray();
            return new FrequencyRow(k, Truth(k, keyA, keyB)!.Value, latents.Length,
                latents.Count(l => l.Class == LatentClass.Shared), latents.Count(l => l.Class == LatentClass.AOnly), latents.Count(l => l.Class == LatentClass.BOnly),
                latents.Length > 0 ? latents.Average(l => l.RelativeNorm) : double.NaN);
        }).ToArray();

        var steering = new List<DemoSteering>();
        foreach (var latentClass in order)
        {
            var strongest = diff.Latents.Where(l => l.Class == latentClass && dominant[l.Index] != 0 && l.TopActivations.Count > 0)
                .OrderByDescending(l => share[l.Index]).FirstOrDefault();
            if (strongest is null) continue;
            int sourceIndex = latentClass == LatentClass.BOnly ? 1 : 0;
            using var direction = Steering.LatentDirection(crosscoder, result.SourceScales, strongest.Index, sourceIndex);
            var steered = Steering.Steer(hosts[sourceIndex], HookPoint, direction, strongest.TopActivations[0], inputs);
            steering.Add(new DemoSteering(strongest.Index, latentClass, sourceIndex == 0 ? modelA.Name : modelB.Name, steered));
        }
        return new DemoScore(name, modelA.Name, modelB.Name, sparsity, scored > 0 ? (double)correct / scored : double.NaN, confusion, scored, dominated,
            diff.Latents.Count(l => l.Class != LatentClass.Dead), result.FinalMetrics.SourceFvu, result.FinalMetrics.L0, diff, dominant, share, frequencies, steering, seconds);
    }

    private static LatentClass? Truth(int k, HashSet<int> keyA, HashSet<int> keyB) =>
        keyA.Contains(k) && keyB.Contains(k) ? LatentClass.Shared : keyA.Contains(k) ? LatentClass.AOnly : keyB.Contains(k) ? LatentClass.BOnly : null;

    /// <summary>
    /// Each latent's dominant frequency: the k with the largest share of the variance of its activation over the
    /// (a, b) grid (<see cref="FourierComponents.Frequency"/> of the mean-removed activation), kept when that share
    /// reaches <paramref name="threshold"/>; 0 for dead or undominated latents.
    /// </summary>
    internal static (int[] Frequency, double[] Share) DominantFrequencies(Crosscoder crosscoder, IReadOnlyList<double> scales, Tensor rowsNSD, int p, double threshold)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var scalesS1 = tensor(scales.Select(v => (float)v).ToArray()).view(1, -1, 1);
        var latentsNL = crosscoder.Encode(rowsNSD.mul(scalesS1)).to_type(ScalarType.Float64);
        int l = crosscoder.LatentCount;
        var frequency = new int[l];
        var share = new double[l];
        for (int i = 0; i < l; i++)
        {
            var fPP = latentsNL.select(1, i).view(p, p);
            if (!fPP.gt(0).any().item<bool>()) continue;
            var components = Fourier.ComponentFractions(fPP.sub(fPP.mean()));
            int best = 1;
            for (int k = 2; k <= (p - 1) / 2; k++)
                if (components.Frequency(k) > components.Frequency(best)) best = k;
            share[i] = components.Frequency(best);
            if (share[i] >= threshold) frequency[i] = best;
        }
        return (frequency, share);
    }

    /// <summary>
    /// A student with a smaller MLP trained on the teacher's logits over all p² inputs: full-batch AdamW on the mean
    /// squared difference of the row-centred logits (matching logits transfers the teacher's Fourier structure, which
    /// near-one-hot soft labels would not). Cached beside the hosts.
    /// </summary>
    private static (HostTransformer Student, bool FromCache) LoadOrDistill(CrosscoderDemoOptions options, HostTransformer teacher, Tensor inputs, CancellationToken cancellationToken)
    {
        var teacherConfig = new ModAddConfig(P: options.P, Seed: options.SeedA);
        var folder = HostFolder(options, teacherConfig) + string.Create(CultureInfo.InvariantCulture, $"-student-mlp{options.StudentMlpDim}-steps{options.StudentSteps}");
        var marker = Path.Combine(folder, "student.json");
        if (File.Exists(marker))
            return (HostTransformer.LoadFolder(folder), true);
        var config = teacher.Config with { MlpDim = options.StudentMlpDim };
        var student = new HostTransformer(config, options.SeedA + 1_000);
        try
        {
            using var targets = TeacherTargets(teacher, inputs);
            using var optimizer = optim.AdamW(student.parameters(), 1e-3, 0.9, 0.98, eps: 1e-8, weight_decay: 0.1);
            for (int step = 0; step < options.StudentSteps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var logitsNC = student.ForwardLastPosition(inputs);
                var loss = logitsNC.sub(logitsNC.mean([1], keepdim: true)).sub(targets).square().mean();
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
            student.SaveFolder(folder);
            AtomicFile.WriteAllText(marker, string.Create(CultureInfo.InvariantCulture,
                $"{{ \"teacher_seed\": {options.SeedA}, \"mlp_dim\": {options.StudentMlpDim}, \"steps\": {options.StudentSteps} }}\n"));
            return (student, false);
        }
        catch
        {
            student.Dispose();
            throw;
        }
    }

    private static Tensor TeacherTargets(HostTransformer teacher, Tensor inputs)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var logitsNC = teacher.ForwardLastPosition(inputs);
        return logitsNC.sub(logitsNC.mean([1], keepdim: true)).MoveToOuterDisposeScope();
    }
}
