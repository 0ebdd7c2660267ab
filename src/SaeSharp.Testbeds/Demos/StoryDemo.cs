using System.Diagnostics;
using SaeSharp.Analysis;
using SaeSharp.Dashboards;
using SaeSharp.Evaluation;
using SaeSharp.Harvest;
using SaeSharp.Harvest.Store;
using SaeSharp.Harvest.Tokenization;
using SaeSharp.Hosts;
using SaeSharp.IO;
using SaeSharp.Testbeds.Stories;
using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Demos;

/// <summary>
/// The whole pipeline on the story host: train (or reuse) the GPT-Neo story host and its ONNX export, harvest the
/// residual stream at one block through ONNX Runtime from stories it was not trained on (each alone from its first
/// token) with the generator's labels beside the store, train a TopK SAE on the store, score its latents against the
/// labels, splice it into the host to measure the next-token loss it keeps, and write a latent dashboard.
/// </summary>
public static class StoryDemo
{
    /// <summary>The stages <see cref="RunAsync"/> reports, in order.</summary>
    public static IReadOnlyList<string> Stages { get; } = ["host", "harvest", "sae", "scoring", "splice", "dashboard"];

    /// <summary>File and folder names inside the output folder.</summary>
    public const string TokenIdsFileName = "stories.json", StoreFolderName = "store", SaeFolderName = "sae", DashboardFileName = "dashboard.html";

    /// <summary>Runs the demo, reporting each stage's progress on the thread that does the work.</summary>
    /// <exception cref="SaeSharpException">An option is invalid, a cached file is corrupt, or a stage failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static async Task<StoryDemoResult> RunAsync(StoryDemoOptions options, IProgress<SaeDemoProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var stages = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Stage(string name)
        {
            stages[name] = Math.Round(clock.Elapsed.TotalSeconds, 2);
            clock.Restart();
        }
        void Report(string stage, double done, double total, string? status) => progress?.Report(new SaeDemoProgress(stage, done, total, status));
        var output = Path.GetFullPath(options.OutputDirectory);
        Directory.CreateDirectory(output);

        // 1. The host and its ONNX export (GPT-2 ids in, logits by GPT-2 id out), from the cache when they are there.
        var hostOptions = options.Host;
        var hostFolder = Path.Combine(options.CacheFolder, StoryHostCache.EntryName(hostOptions));
        int hostSteps = hostOptions.Training.Steps;
        Report("host", 0, hostSteps, $"(cache {hostFolder})");
        var host = await Task.Run(() => StoryHostCache.LoadOrTrain(hostOptions, hostFolder, options.RetrainHost,
            new CallingThreadProgress<LanguageModelProgress>(p => Report("host", p.Step, hostSteps, $"step {p.Step} loss {p.Loss:F3}")), cancellation), cancellation);
        try
        {
            Stage("host");

            // 2. Stories the host never saw, harvested through ONNX Runtime, each alone from its first token; their
            // labels go beside the store, row for row.
            var stories = new StoryGenerator(new StoryGeneratorOptions { Seed = options.StorySeed }).Generate(options.HarvestStories);
            long tokens = stories.Sum(s => (long)s.TokenIds.Count);
            var tokenIdsPath = Path.Combine(output, TokenIdsFileName);
            StoryCorpus.WriteTokenIds(tokenIdsPath, stories, overwrite: true);
            var storePath = Path.Combine(output, StoreFolderName);
            if (Directory.Exists(storePath)) Directory.Delete(storePath, recursive: true);
            Report("harvest", 0, tokens, null);
            var harvest = await Task.Run(() => Harvester.Run(new HarvestConfig
            {
                ModelPath = host.OnnxPath, Hooks = [options.Hook], OutputPath = storePath, TokenIdsPath = tokenIdsPath,
                ContextLength = hostOptions.ContextLength, BatchSize = 16,
            }, new CallingThreadProgress<HarvestProgress>(h => Report("harvest", h.Tokens, h.TargetTokens, $"{h.TokensPerSecond:F0} tokens/s")), cancellation), cancellation);
            StoryCorpus.WriteStoreLabels(storePath, stories);
            Stage("harvest");

            // 3. A TopK SAE on the store.
            var saeDirectory = Path.Combine(output, SaeFolderName);
            if (Directory.Exists(saeDirectory)) Directory.Delete(saeDirectory, recursive: true);
            int d = hostOptions.ModelDim;
            var saeConfig = new SaeConfig(d, options.LatentsPerDimension * d, new TopKArchitecture(options.K));
            var trainConfig = new TrainConfig
            {
                Steps = options.Steps, BatchSize = options.BatchSize, Seed = (long)options.HostSeed, LogEvery = 50, CheckpointEvery = 0,
                DeadWindowTokens = 500_000,
            }.Validate(saeConfig);
            var curve = new List<TrainMetrics>();
            using (var source = StoreActivationSource.Open(storePath, options.Hook, new StoreSourceOptions { Seed = options.HostSeed }))
            using (var trainer = new SaeTrainer(saeConfig, trainConfig, new TrainerOptions
            {
                OutputDirectory = saeDirectory,
                Metadata = new Dictionary<string, string>
                {
                    ["model_name"] = Path.GetFileName(host.HostPath), ["hook_name"] = options.Hook,
                    ["context_size"] = hostOptions.ContextLength.ToString(System.Globalization.CultureInfo.InvariantCulture), ["prepend_bos"] = "false",
                },
            }))
            {
                Report("sae", 0, options.Steps, null);
                await trainer.TrainAsync(source, new CallingThreadProgress<TrainProgress>(t =>
                {
                    if (t.Metrics is { } m) curve.Add(m);
                    Report("sae", t.Step, t.TotalSteps, t.Metrics is { } x ? $"fvu {x.Fvu:F3} l0 {x.L0:F1}" : null);
                }), cancellation);
            }
            Stage("sae");

            // 4. The saved SAE (as anyone loading the folder sees it) against the labels, on every row of the store.
            Report("scoring", 0, 1, null);
            using var sae = SaeCheckpoint.Load(saeDirectory);
            sae.eval();
            var labels = StoreLabels.Read(storePath);
            using var rowsND = ReadRows(storePath, options.Hook);
            EvalMetrics eval;
            using (var evalSource = new InMemoryActivationSource(rowsND, shuffle: false))
                eval = SaeEvaluator.Evaluate(sae, evalSource, batches: 1, batchSize: (int)rowsND.shape[0]);
            var latents = LatentActivations.FromSae(sae, rowsND);
            LabelScores scores;
            using (var labelsNY = LabelMatrix(labels))
                scores = LabelScoring.Score(latents, labelsNY, labels.Names);
            cancellation.ThrowIfCancellationRequested();
            Stage("scoring");

            // 5. The next-token loss it keeps: the host's held-out stories with the SAE spliced in at every position.
            Report("splice", 0, 3, null);
            var (spliced, splicedTokens) = Splice(host, sae, options.Hook, cancellation);
            Stage("splice");

            // 6. The dashboard: each label's best detector first, then latents across the density range.
            Report("dashboard", 0, 1, null);
            var shown = DashboardLatents(scores, options.DashboardLatents);
            var dashboardPath = Path.Combine(output, DashboardFileName);
            WriteDashboard(dashboardPath, host, sae, latents, scores, stories, labels, shown, options);
            Stage("dashboard");

            return new StoryDemoResult(options, host, tokenIdsPath, storePath, harvest.Rows, harvest.Seconds > 0 ? harvest.TokensThisRun / harvest.Seconds : double.NaN,
                saeDirectory, curve, eval, scores, spliced, splicedTokens, dashboardPath, shown, stages);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Every row of one hook of the store, <c>[N, D]</c> (the store is small enough to hold: N·D·4 bytes).</summary>
    internal static Tensor ReadRows(string storePath, string hook)
    {
        using var store = ActivationStore.Open(storePath);
        int index = store.HookIndex(hook);
        int d = store.Hooks[index].D;
        if (store.Rows * d > int.MaxValue) throw new SaeSharpException($"holds {store.Rows} rows of width {d}, too many to score in memory", storePath);
        var all = new float[store.Rows * d];
        store.ReadRows(index, 0, (int)store.Rows, all);
        return tensor(all, [store.Rows, d]);
    }

    /// <summary>The label file as a 0/1 matrix <c>[N, Y]</c>.</summary>
    internal static Tensor LabelMatrix(StoreLabels labels)
    {
        int y = labels.Names.Count;
        var matrix = new byte[labels.Rows * y];
        for (int label = 0; label < y; label++)
        {
            var column = labels.Column(label);
            for (long row = 0; row < column.LongLength; row++)
                if (column[row]) matrix[row * y + label] = 1;
        }
        return tensor(matrix, [labels.Rows, y]);
    }

    /// <summary>
    /// Loss and accuracy over every predicted position of the host's held-out stories (as the host's <c>val_loss</c> is
    /// measured), clean, with the hook's residual stream replaced by the SAE's reconstruction at every position, and
    /// with it zeroed. The SAE reads raw activations, as a loaded checkpoint does.
    /// </summary>
    private static (SplicedLoss Loss, long Tokens) Splice(StoryHostResult host, Sae sae, string hook, CancellationToken cancellation)
    {
        var tokenizer = Gpt2Tokenizer.Gpt2();
        var heldOut = StoryHost.ReadHeldOut(Path.Combine(host.HostPath, StoryHost.HeldOutFileName))
            .Select(tokenizer.Encode).Where(ids => ids.Length >= 2)
            .Select(ids => ids.Select(id => host.Vocabulary.Contains(id) ? host.Vocabulary.ToCompact([id])[0] : host.Vocabulary.UnknownIndex).ToArray())
            .ToArray();
        if (heldOut.Length == 0) throw new SaeSharpException("holds no story of two or more tokens", Path.Combine(host.HostPath, StoryHost.HeldOutFileName));
        var result = SplicedEvaluator.Evaluate(host.Model, sae, heldOut, new SplicedEvaluationOptions { Hook = hook }, cancellationToken: cancellation);
        return (new SplicedLoss(result.CeClean, result.CeSpliced, result.CeZero, result.AccuracyClean, result.AccuracySpliced, result.AccuracyZero), result.Tokens);
    }

    /// <summary>
    /// The latents worth a look: every label's best detector (highest F1 first, each latent once), then live latents
    /// evenly spaced across the density ranking (densest first) until <paramref name="count"/>.
    /// </summary>
    internal static IReadOnlyList<int> DashboardLatents(LabelScores scores, int count)
    {
        var shown = new List<int>();
        foreach (var label in scores.Labels.Where(l => l.BestLatent >= 0).OrderByDescending(l => l.F1))
            if (shown.Count < count && !shown.Contains(label.BestLatent)) shown.Add(label.BestLatent);
        var live = scores.Latents.Where(l => l.Density > 0 && !shown.Contains(l.Latent)).OrderByDescending(l => l.Density).ToArray();
        int room = Math.Min(count - shown.Count, live.Length);
        for (int i = 0; i < room; i++)
            shown.Add(live[(int)((long)i * live.Length / room)].Latent);
        return shown;
    }

    /// <summary>
    /// Each store row's token as text and the story it belongs to, for a dashboard of stories harvested each alone
    /// (rows in story order); <c>Text</c> decodes one GPT-2 id, each id once.
    /// </summary>
    internal static (string[] Tokens, int[] SequenceIds, Func<int, string> Text) DashboardTokens(IReadOnlyList<Story> stories, StoreLabels labels)
    {
        var tokenizer = Gpt2Tokenizer.Gpt2();
        var texts = new Dictionary<int, string>();
        string Text(int gpt2Id)
        {
            if (!texts.TryGetValue(gpt2Id, out var text)) texts[gpt2Id] = text = tokenizer.Decode([gpt2Id]);
            return text;
        }
        var tokens = stories.SelectMany(s => s.TokenIds).Select(Text).ToArray();
        var sequenceIds = labels.SequenceLengths.SelectMany((length, story) => Enumerable.Repeat(story, length)).ToArray();
        return (tokens, sequenceIds, Text);
    }

    private static void WriteDashboard(string path, StoryHostResult host, Sae sae, LatentActivations latents, LabelScores scores,
        IReadOnlyList<Story> stories, StoreLabels labels, IReadOnlyList<int> shown, StoryDemoOptions options)
    {
        var (tokens, sequenceIds, text) = DashboardTokens(stories, labels);
        // The host ties its unembedding to the token embedding; its rows are compact indices, shown as GPT-2 strings.
        var input = new LatentDashboardInput(latents, tokens)
        {
            SequenceIds = sequenceIds,
            Labels = scores,
            Logits = new DashboardLogits(sae.DecoderWeights, host.Model.TokenEmbedding, index => text(host.Vocabulary.Ids[index])),
            Options = new LatentDashboardOptions
            {
                Title = $"Story host: TopK SAE latents at {options.Hook} ({sae.LatentCount} latents, k = {options.K})",
                Latents = shown,
            },
        };
        LatentDashboard.Write(path, input, overwrite: true);
    }
}
