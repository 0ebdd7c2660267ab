using System.Diagnostics;
using SaeSharp.Analysis;
using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Dashboards;
using SaeSharp.Harvest;
using SaeSharp.Harvest.Store;
using SaeSharp.Harvest.Tokenization;
using SaeSharp.Hosts;
using SaeSharp.Testbeds.Stories;
using SaeSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Demos;

/// <summary>
/// Model diffing where the difference is known: crosscoders on the story host (base, A) and a model distilled from a
/// teacher that learned self-reflection sentences (B, <see cref="StoryPair"/>). Both models' ONNX exports are harvested
/// on the same generated stories with reflections (GPT-2 ids, each story alone from its first token) at one block; L1
/// and BatchTopK crosscoders train on the two stores paired row by row; each generator label's best latent
/// (<see cref="LabelScoring"/>) is classified by relative decoder norm with latent scaling; a BatchTopK crosscoder on
/// independent (permuted) rows is the diagnostic; the distilled model is steered along its decoder direction of the
/// best reflection latent while it writes stories; and the BatchTopK latents get a max-activating-contexts dashboard.
/// </summary>
public static class StoryCrosscoderDemo
{
    /// <summary>The stages reported, in order (the pair's own: base, teacher, samples, distilled).</summary>
    public static IReadOnlyList<string> Stages { get; } = ["base", "teacher", "samples", "distilled", "harvest", "l1", "batchtopk", "permuted", "steering", "dashboard"];

    /// <summary>File and folder names inside the output folder.</summary>
    public const string TokenIdsFileName = "stories.json", BaseStoreName = "store-base", DistilledStoreName = "store-distilled", DashboardFileName = "dashboard.html";

    /// <summary>Runs the demo, reporting progress on the thread that does the work.</summary>
    /// <exception cref="SaeSharpException">An option is invalid, a cached file is corrupt, or a stage failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static StoryCrosscoderDemoResult Run(StoryCrosscoderDemoOptions options, IProgress<SaeDemoProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var stages = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Stage(string name)
        {
            stages[name] = Math.Round(clock.Elapsed.TotalSeconds, 2);
            clock.Restart();
        }
        var output = Path.GetFullPath(options.OutputDirectory);
        Directory.CreateDirectory(output);

        using var pair = StoryPair.LoadOrTrain(options.Pair, options.CacheFolder, progress, cancellation);
        Stage("models");

        // Harvest: the same token ids through both ONNX exports; the generator's labels beside each store.
        var stories = new StoryGenerator(new StoryGeneratorOptions { Seed = options.HarvestSeed, ReflectionProbability = options.Pair.ReflectionProbability })
            .Generate(options.HarvestStories);
        var tokenIdsPath = Path.Combine(output, TokenIdsFileName);
        StoryCorpus.WriteTokenIds(tokenIdsPath, stories, overwrite: true);
        long tokens = stories.Sum(s => (long)s.TokenIds.Count);
        var storePaths = new[] { Path.Combine(output, BaseStoreName), Path.Combine(output, DistilledStoreName) };
        var onnxPaths = new[] { pair.Base.OnnxPath, Path.Combine(pair.DistilledPath, StoryHost.OnnxFileName) };
        for (int m = 0; m < 2; m++)
        {
            if (Directory.Exists(storePaths[m])) Directory.Delete(storePaths[m], recursive: true);
            int model = m;
            progress?.Report(new SaeDemoProgress("harvest", 0, tokens, model == 0 ? "base" : "distilled"));
            Harvester.Run(new HarvestConfig
            {
                ModelPath = onnxPaths[m], Hooks = [options.Hook], OutputPath = storePaths[m], TokenIdsPath = tokenIdsPath,
                ContextLength = options.Pair.Base.ContextLength, BatchSize = 16,
            }, new CallingThreadProgress<HarvestProgress>(h => progress?.Report(new SaeDemoProgress("harvest", h.Tokens, h.TargetTokens, model == 0 ? "base" : "distilled"))), cancellation);
            StoryCorpus.WriteStoreLabels(storePaths[m], stories);
        }
        StorePairing.Check(storePaths);
        Stage("harvest");

        using var baseND = StoryDemo.ReadRows(storePaths[0], options.Hook);
        using var distilledND = StoryDemo.ReadRows(storePaths[1], options.Hook);
        using var rowsNSD = stack([baseND, distilledND], 1);
        var labels = StoreLabels.Read(storePaths[0]);
        using var labelsNY = StoryDemo.LabelMatrix(labels);

        var scores = new List<StoryCrosscoderScore>();
        Crosscoder? batchTopK = null;
        IReadOnlyList<double> batchTopKScales = [];
        LabelScores? batchTopKLabels = null;
        Tensor? batchTopKCodes = null;
        try
        {
            foreach (var sparsity in new[] { CrosscoderSparsity.L1, CrosscoderSparsity.BatchTopK })
            {
                cancellation.ThrowIfCancellationRequested();
                string name = sparsity == CrosscoderSparsity.L1 ? "l1" : "batchtopk";
                var trainClock = Stopwatch.StartNew();
                var options1 = new StoreSourceOptions { Seed = (ulong)options.Seed };
                var source = new PairedActivationSource([StoreActivationSource.Open(storePaths[0], options.Hook, options1), StoreActivationSource.Open(storePaths[1], options.Hook, options1)]);
                var (crosscoder, scales, metrics) = Train(options, sparsity, source, rowsNSD.shape[0], name, progress, cancellation);
                double seconds = trainClock.Elapsed.TotalSeconds;
                var diff = ModelDiff.Analyze(crosscoder, scales, rowsNSD);
                var codesNL = Codes(crosscoder, scales, rowsNSD);
                var labelScores = LabelScoring.Score(LatentActivations.FromTensor(codesNL), labelsNY, labels.Names);
                scores.Add(ScoreOf(name, sparsity, diff, labelScores, metrics, seconds));
                if (sparsity == CrosscoderSparsity.BatchTopK)
                {
                    (batchTopK, batchTopKScales, batchTopKLabels, batchTopKCodes) = (crosscoder, scales, labelScores, codesNL);
                }
                else
                {
                    crosscoder.Dispose();
                    codesNL.Dispose();
                }
                Stage(name);
            }

            // The diagnostic: the distilled rows in a random order, so the two sources are independent.
            var permuted = Permuted(options, baseND, distilledND, labelsNY, labels.Names, progress, cancellation);
            Stage("permuted");

            var steering = Steer(options, pair, batchTopK!, batchTopKScales, scores[^1], progress, cancellation);
            Stage("steering");

            progress?.Report(new SaeDemoProgress("dashboard", 0, 1, null));
            var dashboardPath = Path.Combine(output, DashboardFileName);
            WriteDashboard(dashboardPath, pair, batchTopK!, batchTopKCodes!, batchTopKLabels!, scores[^1], stories, labels, options);
            Stage("dashboard");
            return new StoryCrosscoderDemoResult(options, pair.Summary, pair.PairPath, pair.Base.HostPath, storePaths, rowsNSD.shape[0], scores, permuted,
                steering, dashboardPath, stages);
        }
        finally
        {
            batchTopK?.Dispose();
            batchTopKCodes?.Dispose();
        }
    }

    private static (Crosscoder Crosscoder, IReadOnlyList<double> Scales, TrainMetrics Metrics) Train(StoryCrosscoderDemoOptions options, CrosscoderSparsity sparsity,
        PairedActivationSource source, long rows, string stage, IProgress<SaeDemoProgress>? progress, CancellationToken cancellation)
    {
        using (source)
        {
            var config = new CrosscoderConfig
            {
                InputDim = source.SourceWidth, LatentCount = options.LatentCount, Sparsity = sparsity, K = options.K, SourceNames = ["base", "distilled"],
            };
            var trainConfig = new TrainConfig
            {
                Steps = options.Steps, BatchSize = options.BatchSize, SparsityCoefficient = sparsity == CrosscoderSparsity.L1 ? options.L1Coefficient : null,
                Seed = options.Seed, LogEvery = Math.Max(1, options.Steps / 20), CheckpointEvery = 0,
                // A latent silent for two passes over the store is dead.
                DeadWindowTokens = 2 * rows, InitSampleRows = (int)Math.Min(rows, 8192),
            };
            var trainer = new CrosscoderTrainer(config, trainConfig);
            try
            {
                var result = trainer.TrainAsync(source, new CallingThreadProgress<TrainProgress>(t => progress?.Report(new SaeDemoProgress(stage, t.Step, t.TotalSteps,
                    t.Metrics is { } m ? $"fvu {string.Join("/", m.SourceFvu.Select(f => f.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))} l0 {m.L0:F1}" : null))), cancellation)
                    .GetAwaiter().GetResult();
                return (result.Crosscoder, result.SourceScales, result.FinalMetrics);
            }
            catch
            {
                trainer.Dispose();
                throw;
            }
        }
    }

    /// <summary>The crosscoder's code of every paired row, <c>[N, L]</c>.</summary>
    private static Tensor Codes(Crosscoder crosscoder, IReadOnlyList<double> scales, Tensor rowsNSD)
    {
        using var noGrad = no_grad();
        crosscoder.eval();
        using var scalesS1 = tensor(scales.Select(v => (float)v).ToArray()).view(1, -1, 1);
        var parts = new List<Tensor>();
        const int Chunk = 4096;
        for (long start = 0; start < rowsNSD.shape[0]; start += Chunk)
        {
            using var scope = NewDisposeScope();
            parts.Add(crosscoder.Encode(rowsNSD.narrow(0, start, Math.Min(Chunk, rowsNSD.shape[0] - start)).mul(scalesS1)).MoveToOuterDisposeScope());
        }
        var codes = cat(parts, 0);
        foreach (var part in parts) part.Dispose();
        return codes;
    }

    private static StoryCrosscoderScore ScoreOf(string name, CrosscoderSparsity sparsity, ModelDiffResult diff, LabelScores labelScores, TrainMetrics metrics, double seconds)
    {
        var reflection = StoryLabels.ReflectionNames.ToHashSet(StringComparer.Ordinal);
        var columns = new[] { LatentClass.Shared, LatentClass.AOnly, LatentClass.BOnly, LatentClass.Dead };
        var confusion = new int[2, 4];
        var matches = new List<StoryLabelMatch>();
        foreach (var label in labelScores.Labels.Where(l => l.Support >= labelScores.Options.MinSupport))
        {
            bool isReflection = reflection.Contains(label.Name);
            var latent = label.BestLatent >= 0 ? diff.Latents[label.BestLatent] : null;
            var latentClass = latent?.Class ?? LatentClass.Dead;
            confusion[isReflection ? 1 : 0, Array.IndexOf(columns, latentClass)]++;
            matches.Add(new StoryLabelMatch(label.Name, isReflection, label.Support, label.BestLatent, label.F1, latentClass,
                latent?.RelativeNorm ?? double.NaN, latent?.OnlyLooksExclusive ?? false));
        }
        double Share(bool reflectionRow, LatentClass wanted)
        {
            var row = matches.Where(m => m.Reflection == reflectionRow).ToArray();
            return row.Length == 0 ? double.NaN : row.Count(m => m.Class == wanted) / (double)row.Length;
        }
        return new StoryCrosscoderScore(name, sparsity, Share(true, LatentClass.BOnly), Share(false, LatentClass.Shared),
            diff.Latents.Count(l => l.OnlyLooksExclusive), diff.Latents.Count(l => l.Class != LatentClass.Dead),
            diff.Count(LatentClass.Shared), diff.Count(LatentClass.AOnly), diff.Count(LatentClass.BOnly), confusion, matches,
            metrics.SourceFvu, metrics.L0, diff, seconds);
    }

    private static StoryPermutedDiagnostic Permuted(StoryCrosscoderDemoOptions options, Tensor baseND, Tensor distilledND, Tensor labelsNY, IReadOnlyList<string> names,
        IProgress<SaeDemoProgress>? progress, CancellationToken cancellation)
    {
        long n = baseND.shape[0];
        using var generator = new Generator((ulong)options.Seed + 7);
        using var order = randperm(n, generator: generator);
        using var shuffledND = distilledND.index_select(0, order);
        using var rowsNSD = stack([baseND, shuffledND], 1);
        var (crosscoder, scales, _) = Train(options, CrosscoderSparsity.BatchTopK, PairedActivationSource.FromTensors([baseND, shuffledND], options.Seed), n, "permuted", progress, cancellation);
        using (crosscoder)
        {
            var diff = ModelDiff.Analyze(crosscoder, scales, rowsNSD);
            using var codesNL = Codes(crosscoder, scales, rowsNSD);
            var labelScores = LabelScoring.Score(LatentActivations.FromTensor(codesNL), labelsNY, names);
            var matched = labelScores.Labels
                .Where(l => l.Support >= labelScores.Options.MinSupport && l.BestLatent >= 0 && l.F1 >= options.LabelMatchF1 && diff.Latents[l.BestLatent].Class == LatentClass.BOnly)
                .ToArray();
            return new StoryPermutedDiagnostic(diff.Latents.Count(l => l.Class != LatentClass.Dead), diff.Count(LatentClass.BOnly),
                matched.Select(l => l.BestLatent).Distinct().Count(), matched.Select(l => l.Name).ToArray());
        }
    }

    /// <summary>
    /// Steers the distilled model along the distilled decoder direction of the BatchTopK latent that best detects a
    /// reflection label (a distilled-only one when there is one), at every position of every sampled story.
    /// </summary>
    private static StorySteering Steer(StoryCrosscoderDemoOptions options, StoryPairResult pair, Crosscoder crosscoder, IReadOnlyList<double> scales,
        StoryCrosscoderScore score, IProgress<SaeDemoProgress>? progress, CancellationToken cancellation)
    {
        var candidates = score.Labels.Where(l => l.Reflection && l.BestLatent >= 0).ToArray();
        if (candidates.Length == 0) throw new SaeSharpException("no latent of the BatchTopK crosscoder fires on a reflection; nothing to steer with", field: "steering");
        var chosen = candidates.Where(l => l.Class == LatentClass.BOnly).OrderByDescending(l => l.F1).FirstOrDefault() ?? candidates.OrderByDescending(l => l.F1).First();
        var latent = score.Diff.Latents[chosen.BestLatent];
        double unit = latent.TopActivations.Count > 0 ? latent.TopActivations[0] : 1.0;
        using var directionD = Steering.LatentDirection(crosscoder, scales, chosen.BestLatent, source: 1);

        var vocabulary = pair.Vocabulary;
        var promptGenerator = new StoryGenerator(new StoryGeneratorOptions { Seed = options.HarvestSeed + 1 });
        var prompts = Enumerable.Range(0, options.SteeringSamples).Select(_ => vocabulary.ToCompact([promptGenerator.Next().TokenIds[0]])).ToArray();
        var tokenizer = Gpt2Tokenizer.Gpt2();
        ulong seed = (ulong)options.Seed + 11;
        (double Rate, int Reflections, int Sentences) Measure(HostHooks? hooks)
        {
            var samples = StorySampler.Sample(pair.Distilled, prompts, vocabulary.UnknownIndex, options.SteeringMaxLength, 1.0, seed, hooks, cancellation);
            var (reflections, sentences) = StoryReflections.Count(samples.Select(s => StoryPair.Text(tokenizer, vocabulary, s)));
            return (sentences == 0 ? 0 : (double)reflections / sentences, reflections, sentences);
        }
        int done = 0, total = options.SteeringAlphas.Count + 1;
        progress?.Report(new SaeDemoProgress("steering", done, total, "unsteered"));
        var unsteered = Measure(null);
        var rates = new List<StorySteeringRate>();
        foreach (var alpha in options.SteeringAlphas)
        {
            progress?.Report(new SaeDemoProgress("steering", ++done, total, $"alpha {alpha}"));
            using var addD = directionD.mul(alpha * unit);
            var hooks = new HostHooks().Replace(options.Hook, xBTD => xBTD.add(addD, HeldScalars.One));
            var (rate, reflections, sentences) = Measure(hooks);
            rates.Add(new StorySteeringRate(alpha, rate, reflections, sentences));
        }
        return new StorySteering(chosen.BestLatent, chosen.Name, chosen.Class, unit, unsteered.Rate, rates);
    }

    private static void WriteDashboard(string path, StoryPairResult pair, Crosscoder crosscoder, Tensor codesNL, LabelScores labelScores, StoryCrosscoderScore score,
        IReadOnlyList<Story> stories, StoreLabels labels, StoryCrosscoderDemoOptions options)
    {
        var (tokens, sequenceIds, text) = StoryDemo.DashboardTokens(stories, labels);
        // Each label's best latent first (reflections first), then the other distilled-only and base-only latents.
        var shown = score.Labels.OrderByDescending(l => l.Reflection).ThenByDescending(l => l.F1).Select(l => l.BestLatent).Where(j => j >= 0)
            .Concat(score.Diff.Latents.Where(l => l.Class is LatentClass.BOnly or LatentClass.AOnly).OrderByDescending(l => l.FiringFraction).Select(l => l.Index))
            .Distinct().Take(64).ToArray();
        using var decoderLD = crosscoder.DecoderWeights.detach().select(1, 1).contiguous();
        var input = new LatentDashboardInput(LatentActivations.FromTensor(codesNL), tokens)
        {
            SequenceIds = sequenceIds,
            Labels = labelScores,
            Logits = new DashboardLogits(decoderLD, pair.Distilled.TokenEmbedding, index => text(pair.Vocabulary.Ids[index])),
            Notes = score.Diff.Latents.ToDictionary(l => l.Index, l => string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{l.Class switch { LatentClass.AOnly => "base-only", LatentClass.BOnly => "distilled-only", LatentClass.Shared => "shared", _ => "dead" }}: decoder norm base {l.NormA:F3}, distilled {l.NormB:F3} (relative {l.RelativeNorm:F2}){(l.OnlyLooksExclusive ? ", latent scaling: only looks exclusive" : "")}")),
            Options = new LatentDashboardOptions
            {
                Title = $"Story crosscoder (base vs distilled) at {options.Hook}: BatchTopK, {crosscoder.LatentCount} latents, k = {options.K}",
                Latents = shown,
            },
        };
        LatentDashboard.Write(path, input, overwrite: true);
    }
}
