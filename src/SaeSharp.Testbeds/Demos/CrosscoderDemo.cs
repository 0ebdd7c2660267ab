using SaeSharp.Training;
using SaeSharp.IO;
using System.Diagnostics;
using System.Globalization;
using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Hosts;
using SaeSharp.Testbeds.ModularAddition;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Demos;

/// <summary>
/// The embedded model-diffing case with ground truth. Two modular-addition hosts trained from different seeds
/// learn different sets of key frequencies; a student with a smaller MLP is distilled from host A. Their residual
/// streams at the <c>=</c> position at <see cref="CrosscoderDemoOptions.Hook"/> (default <c>resid_mid.0</c>, between
/// attention and MLP) over all p² inputs are paired row by row, crosscoders are trained on A vs B (L1 and BatchTopK
/// rules) and on A vs the student (both rules again), and every latent whose encoder reading over the (a, b) grid
/// is dominated by one frequency is scored: a frequency key to both models at the hook should give a shared latent,
/// one key to a single model a latent exclusive to it.
/// </summary>
/// <remarks>
/// Why <c>resid_mid.0</c>: there the stream is 98% waves of a and of b taken separately (measured on the demo hosts),
/// one plane per frequency, so a latent can read one frequency. After the MLP (<c>resid_post.0</c>) the stream also
/// holds the answer (a + b) mod p in all key frequencies at once, and sparse codes spend latents on answer detectors
/// that mix every frequency (docs/crosscoder-demo-results.md). Why the truth uses each model's key frequencies at the
/// hook (<see cref="Fourier.ActivationKeyFrequencies"/>) and not its embedding's: a frequency the model does not
/// carry at the hook cannot appear in its decoder there; both sets are reported, and both scores.
/// </remarks>
public static class CrosscoderDemo
{
    /// <summary>How many stage messages <see cref="Run"/> reports to its progress with these options (for a progress bar).</summary>
    public static int StageCount(CrosscoderDemoOptions options) => options.IncludeStudent ? 7 : 4;

    /// <summary>Runs the demo (hosts come from the cache when present, else are trained and cached), reporting each stage as it starts.</summary>
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
        using var actsA = ModAddGroundTruth.ResidualAtEquals(hostA.Model, options.Hook);
        using var actsB = ModAddGroundTruth.ResidualAtEquals(hostB.Model, options.Hook);
        var models = new List<DemoModel>
        {
            new("A", $"modular addition, seed {options.SeedA}", hostA.KeyFrequencies.Frequencies, HookKeys(actsA, p), Accuracy(hostA.Model, inputs, labels), hostA.FromCache),
            new("B", $"modular addition, seed {options.SeedB}", hostB.KeyFrequencies.Frequencies, HookKeys(actsB, p), Accuracy(hostB.Model, inputs, labels), hostB.FromCache),
        };

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
                using var actsStudent = ModAddGroundTruth.ResidualAtEquals(student, options.Hook);
                models.Add(new DemoModel("student", $"distilled from A (d_mlp {options.StudentMlpDim}, {options.StudentSteps} steps on A's logits over all inputs)",
                    ModAddTrainer.KeyFrequenciesOf(student).Frequencies, HookKeys(actsStudent, p), Accuracy(student, inputs, labels), fromCache));
                foreach (var sparsity in new[] { CrosscoderSparsity.L1, CrosscoderSparsity.BatchTopK })
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    string name = sparsity == CrosscoderSparsity.L1 ? "distilled_l1" : "distilled_batchtopk";
                    progress?.Report($"crosscoder {name}: A vs student");
                    scores.Add(Score(name, sparsity, options, models[0], models[2], actsA, actsStudent, [hostA.Model, student], inputs));
                }
            }
        }
        return new CrosscoderDemoResult(options, models, agreement, scores, clock.Elapsed.TotalSeconds);
    }

    private static string HostFolder(CrosscoderDemoOptions options, ModAddConfig config) => ModAddCache.EntryFolder(options.CacheFolder, config);

    private static double Accuracy(HostTransformer model, Tensor inputs, Tensor labels) => ModAddTrainer.Evaluate(model, inputs, labels).Accuracy;

    private static IReadOnlyList<int> HookKeys(Tensor activationsND, int p) => Fourier.ActivationKeyFrequencies(activationsND, p).Frequencies;

    private static DemoScore Score(string name, CrosscoderSparsity sparsity, CrosscoderDemoOptions options, DemoModel modelA, DemoModel modelB,
        Tensor actsA, Tensor actsB, HostTransformer[] hosts, Tensor inputs)
    {
        int p = options.P;
        var config = new CrosscoderConfig
        {
            InputDim = (int)actsA.shape[1], LatentCount = options.LatentCount, Sparsity = sparsity, K = options.K,
            SourceNames = [modelA.Name, modelB.Name],
        };
        var trainConfig = new TrainConfig
        {
            Steps = options.Steps, BatchSize = options.BatchSize, LearningRate = options.LearningRate, SparsityCoefficient = options.L1Coefficient,
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

        var keyA = modelA.HookKeyFrequencies.ToHashSet();
        var keyB = modelB.HookKeyFrequencies.ToHashSet();
        var (dominant, share) = DominantFrequencies(crosscoder, result.SourceScales, rowsNSD, diff, p, options.DominanceThreshold);
        var order = new[] { LatentClass.Shared, LatentClass.AOnly, LatentClass.BOnly };
        var dominatedLatents = diff.Latents.Where(l => l.Class != LatentClass.Dead && dominant[l.Index] != 0).ToArray();
        int dominated = dominatedLatents.Length;
        var (confusion, scored, correct) = Confuse(dominatedLatents, dominant, keyA, keyB, order);
        var (_, embeddingScored, embeddingCorrect) = Confuse(dominatedLatents, dominant, modelA.KeyFrequencies.ToHashSet(), modelB.KeyFrequencies.ToHashSet(), order);
        var frequencies = keyA.Union(keyB).Union(modelA.KeyFrequencies).Union(modelB.KeyFrequencies).Order().Select(k =>
        {
            var latents = diff.Latents.Where(l => l.Class != LatentClass.Dead && dominant[l.Index] == k).ToArray();
            return new FrequencyRow(k, Truth(k, keyA, keyB), latents.Length,
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
            var steered = Steering.Steer(hosts[sourceIndex], options.Hook, direction, strongest.TopActivations[0], inputs);
            steering.Add(new DemoSteering(strongest.Index, latentClass, sourceIndex == 0 ? modelA.Name : modelB.Name, steered));
        }
        return new DemoScore(name, modelA.Name, modelB.Name, sparsity, scored > 0 ? (double)correct / scored : double.NaN, confusion, scored,
            embeddingScored > 0 ? (double)embeddingCorrect / embeddingScored : double.NaN, embeddingScored, dominated,
            diff.Latents.Count(l => l.Class != LatentClass.Dead), result.FinalMetrics.SourceFvu, result.FinalMetrics.L0, diff, dominant, share, frequencies, steering, seconds);
    }

    /// <summary>The confusion matrix [truth, predicted] of the dominated live latents against one truth, with the counts scored and correct.</summary>
    private static (int[,] Confusion, int Scored, int Correct) Confuse(LatentDiff[] latents, int[] dominant, HashSet<int> keyA, HashSet<int> keyB, LatentClass[] order)
    {
        var confusion = new int[3, 3];
        int scored = 0, correct = 0;
        foreach (var latent in latents)
        {
            if (Truth(dominant[latent.Index], keyA, keyB) is not { } truth) continue;
            scored++;
            int t = Array.IndexOf(order, truth), c = Array.IndexOf(order, latent.Class);
            confusion[t, c]++;
            if (t == c) correct++;
        }
        return (confusion, scored, correct);
    }

    private static LatentClass? Truth(int k, HashSet<int> keyA, HashSet<int> keyB) =>
        keyA.Contains(k) && keyB.Contains(k) ? LatentClass.Shared : keyA.Contains(k) ? LatentClass.AOnly : keyB.Contains(k) ? LatentClass.BOnly : null;

    /// <summary>
    /// Each live latent's dominant frequency: the k with the largest share of the variance of its encoder
    /// pre-activation over the (a, b) grid (<see cref="FourierComponents.Frequency"/> of the mean-removed
    /// pre-activation), kept when that share reaches <paramref name="threshold"/>; 0 for latents dead in
    /// <paramref name="diff"/> and for undominated ones.
    /// </summary>
    /// <remarks>
    /// The pre-activation, not the activation: the pre-activation is a linear reading of the stream, so its spectrum
    /// is the frequencies the latent reads. The ReLU'd (and, for BatchTopK, thresholded) activation of a latent that
    /// reads one frequency k fires on an arc of the circle and spreads most of its variance into the harmonics 2k,
    /// 3k, ... (mod p), which are other frequency indices: a clean single-frequency latent firing on 5% of inputs
    /// holds only about a tenth of its activation variance at k.
    /// </remarks>
    internal static (int[] Frequency, double[] Share) DominantFrequencies(Crosscoder crosscoder, IReadOnlyList<double> scales, Tensor rowsNSD,
        ModelDiffResult diff, int p, double threshold)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var scalesS1 = tensor(scales.Select(v => (float)v).ToArray()).view(1, -1, 1);
        var preNL = crosscoder.PreActivations(rowsNSD.mul(scalesS1)).to_type(ScalarType.Float64);
        int l = crosscoder.LatentCount;
        var frequency = new int[l];
        var share = new double[l];
        // The diff has already encoded every row: its dead latents are skipped here instead of encoding again.
        foreach (var latent in diff.Latents)
        {
            int i = latent.Index;
            if (latent.Class == LatentClass.Dead) continue;
            var fPP = preNL.select(1, i).view(p, p);
            var (best, bestShare) = Fourier.ComponentFractions(fPP.sub(fPP.mean())).Dominant();
            share[i] = bestShare;
            if (bestShare >= threshold) frequency[i] = best;
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
            using var optimizer = new HeldScalarAdamW(student.parameters(), 1e-3, 0.9, 0.98, epsilon: 1e-8, weightDecay: 0.1);
            for (int step = 0; step < options.StudentSteps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var logitsNC = student.ForwardLastPosition(inputs);
                var loss = logitsNC.sub(logitsNC.mean([1], keepdim: true)).sub(targets).pow(HeldScalars.Two).mean();
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
