using System.Diagnostics;
using System.Text.Json;
using SaeSharp.Evaluation;
using SaeSharp.Hosts;
using SaeSharp.IO;
using SaeSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Lora;

/// <summary>
/// Trains LoRA adapters so that a host with a frozen SAE spliced in predicts like the clean host (Chen, Engels and
/// Tegmark, "Low-rank adapting models for sparse autoencoders"): loss = mean over real positions of
/// KL(p_clean ‖ p_spliced+adapters), the teacher the clean host under no grad; host and SAE frozen; AdamW (constant
/// learning rate) with global gradient-norm clipping.
/// </summary>
/// <remarks>
/// Sequences are fed alone from their first token, right-padded; each pass over the training split is a seeded
/// permutation. With an output folder the run writes <c>metrics.jsonl</c> and checkpoints (the adapters in PEFT
/// layout, the optimizer state and <c>lora_state.json</c>, committed as one unit) and resumes from the last one.
/// </remarks>
public sealed class LoraTrainer
{
    /// <summary>File names in a run folder.</summary>
    public const string MetricsFileName = "metrics.jsonl", OptimizerFileName = "optimizer.bin", StateFileName = "lora_state.json";

    /// <summary>A trainer with <paramref name="options"/> (validated now).</summary>
    /// <exception cref="SaeSharpException">An option is out of range.</exception>
    public LoraTrainer(LoraTrainOptions options)
    {
        Options = options.Validate();
    }

    /// <summary>The run's settings.</summary>
    public LoraTrainOptions Options { get; }

    /// <summary>
    /// Trains <paramref name="adapters"/> in place on <paramref name="sequences"/> (host token ids, each at least two
    /// long); the last <see cref="LoraTrainOptions.ValidationFraction"/> of a seeded shuffle is held out for validation.
    /// </summary>
    /// <param name="host">The frozen host; its weights are not changed.</param>
    /// <param name="sae">The frozen SAE spliced in at <paramref name="hook"/>.</param>
    /// <param name="hook">The hook point the SAE reads.</param>
    /// <param name="adapters">Adapters made for <paramref name="host"/>.</param>
    /// <param name="sequences">Training sequences.</param>
    /// <param name="outputDirectory">Where metrics and checkpoints go (resumed from when it holds one); null: in memory only.</param>
    /// <param name="progress">Reports every <see cref="LoraTrainOptions.LogEvery"/> steps.</param>
    /// <param name="cancellationToken">Stops between steps (a checkpoint is written first when there is a folder).</param>
    /// <exception cref="SaeSharpException">The SAE does not fit the hook, a sequence is invalid, or the loss became non-finite.</exception>
    public LoraTrainResult Train(HostTransformer host, Sae sae, string hook, LoraAdapters adapters, IReadOnlyList<long[]> sequences,
        string? outputDirectory = null, IProgress<LoraProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        SplicedEvaluator.CheckSplice(host, sae, hook);
        LanguageModelTrainer.CheckSequences(host.Config, sequences, "sequences");
        adapters.CheckFits(host);
        var stopwatch = Stopwatch.StartNew();
        if (outputDirectory is not null) Directory.CreateDirectory(outputDirectory);
        var (train, validation) = Split(sequences);
        if (train.Length == 0) throw new SaeSharpException("leave no training sequence after the validation split", field: "sequences");

        var frozen = host.parameters().Concat(sae.parameters()).Select(p => (Parameter: p, p.requires_grad)).ToArray();
        foreach (var (p, _) in frozen) p.requires_grad = false;
        sae.eval();
        host.eval();
        var parameters = adapters.Parameters().Select(p => p.Parameter).ToArray();
        using var optimizer = new HeldScalarAdamW(parameters, Options.LearningRate, 0.9, 0.999, 1e-8, Options.WeightDecay);
        var log = new List<LoraProgress>();
        try
        {
            int startStep = outputDirectory is null ? 0 : Resume(outputDirectory, host, adapters, optimizer);
            double klBefore = startStep == 0 && validation.Length > 0 ? ValidationKl(host, sae, hook, adapters, validation) : double.NaN;
            var order = new BatchOrder(train.Length, Options.BatchSize, Options.Seed);
            for (int s = 0; s < startStep; s++) order.Next();
            long tokens = 0;
            adapters.train();
            for (int step = startStep; step < Options.Steps; step++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (outputDirectory is not null && step > startStep) Checkpoint(outputDirectory, step, adapters, optimizer);
                    cancellationToken.ThrowIfCancellationRequested();
                }
                using var scope = NewDisposeScope();
                var batch = order.Next().Select(i => train[i]).ToArray();
                var (inputsBT, targetsBT, predicted) = LanguageModelTrainer.Pad(batch, Enumerable.Range(0, batch.Length).ToArray());
                var loss = Loss(host, sae, hook, adapters, inputsBT, targetsBT, Options.UntouchedPositions);
                optimizer.zero_grad();
                loss.backward();
                double gradNorm = nn.utils.clip_grad_norm_(parameters, Options.ClipNorm);
                optimizer.step();
                tokens += predicted;
                int done = step + 1;
                bool last = done == Options.Steps;
                if (done % Options.LogEvery == 0 || last)
                {
                    double kl = loss.item<float>();
                    if (!double.IsFinite(kl)) throw new SaeSharpException($"became {kl} at step {done}; lower the learning rate", field: "loss");
                    double? validationKl = validation.Length > 0 && (done % Options.EvalEvery == 0 || last)
                        ? ValidationKl(host, sae, hook, adapters, validation) : null;
                    adapters.train();
                    var report = new LoraProgress(done, Options.Steps, kl, gradNorm, validationKl, stopwatch.Elapsed.TotalSeconds);
                    log.Add(report);
                    progress?.Report(report);
                    if (outputDirectory is not null)
                        File.AppendAllText(Path.Combine(outputDirectory, MetricsFileName), JsonSerializer.Serialize(report, LoraJsonContext.Default.LoraProgress) + "\n");
                }
                if (outputDirectory is not null && (done % Options.CheckpointEvery == 0 || last)) Checkpoint(outputDirectory, done, adapters, optimizer);
            }
            adapters.eval();
            double klAfter = validation.Length > 0 ? ValidationKl(host, sae, hook, adapters, validation) : double.NaN;
            return new LoraTrainResult(Options.Steps, startStep, klBefore, klAfter, tokens, stopwatch.Elapsed.TotalSeconds, log);
        }
        finally
        {
            adapters.eval();
            foreach (var (p, requiresGrad) in frozen) p.requires_grad = requiresGrad;
        }
    }

    /// <summary>
    /// The training loss on one padded batch: mean over real positions (targets not ignored) of
    /// KL(p_clean ‖ p_adapted+SAE), the clean logits under no grad; a scalar with a graph to the adapters.
    /// </summary>
    internal static Tensor Loss(HostTransformer host, Sae sae, string hook, LoraAdapters adapters, Tensor inputsBT, Tensor targetsBT, int untouched)
    {
        using var scope = NewDisposeScope();
        Tensor cleanLogpNV;
        using (no_grad())
        {
            var cleanBTV = host.Forward(inputsBT, hooks: null);
            cleanLogpNV = cleanBTV.reshape(-1, cleanBTV.shape[2]).log_softmax(1);
        }
        var hooks = new HostHooks().Replace(hook, x => SplicedEvaluator.Replace(x, untouched, rows => SplicedEvaluator.Reconstruct(sae, rows)));
        var splicedBTV = host.Forward(inputsBT, hooks, adapters);
        var splicedLogpNV = splicedBTV.reshape(-1, splicedBTV.shape[2]).log_softmax(1);
        var realN = targetsBT.reshape(-1).ne(LanguageModelTrainer.IgnoredTarget);
        return SplicedEvaluator.KlRows(cleanLogpNV, splicedLogpNV).masked_select(realN).mean().MoveToOuterDisposeScope();
    }

    private double ValidationKl(HostTransformer host, Sae sae, string hook, LoraAdapters adapters, long[][] validation)
    {
        adapters.eval();
        using var noGrad = no_grad();
        double total = 0;
        long count = 0;
        for (int start = 0; start < validation.Length; start += Options.BatchSize)
        {
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(start, Math.Min(Options.BatchSize, validation.Length - start)).ToArray();
            var (inputsBT, targetsBT, predicted) = LanguageModelTrainer.Pad(validation, batch);
            using var mean = Loss(host, sae, hook, adapters, inputsBT, targetsBT, Options.UntouchedPositions);
            total += mean.to_type(ScalarType.Float64).item<double>() * predicted;
            count += predicted;
        }
        return total / count;
    }

    private (long[][] Train, long[][] Validation) Split(IReadOnlyList<long[]> sequences)
    {
        var shuffled = sequences.ToArray();
        new Random(unchecked((int)Options.Seed)).Shuffle(shuffled);
        int held = (int)Math.Floor(shuffled.Length * Options.ValidationFraction);
        return (shuffled[..^held], shuffled[^held..]);
    }

    private void Checkpoint(string directory, int step, LoraAdapters adapters, HeldScalarAdamW optimizer)
    {
        Directory.CreateDirectory(directory);
        CheckpointCommit.Write(directory, step, staging =>
        {
            adapters.SavePeft(staging);
            optimizer.save_state_dict(Path.Combine(staging, OptimizerFileName));
            AtomicFile.WriteAllText(Path.Combine(staging, StateFileName), JsonSerializer.Serialize(new LoraTrainState(step, Options.Seed), LoraJsonContext.Default.LoraTrainState));
        });
    }

    /// <summary>Loads the folder's last checkpoint into the adapters and optimizer; its step, or 0 when there is none.</summary>
    private int Resume(string directory, HostTransformer host, LoraAdapters adapters, HeldScalarAdamW optimizer)
    {
        CheckpointCommit.Recover(directory);
        var statePath = Path.Combine(directory, StateFileName);
        if (!File.Exists(statePath)) return 0;
        var state = StrictJson.Deserialize(StrictJson.ReadUtf8File(statePath), LoraJsonContext.Default.LoraTrainState, statePath);
        if (state.Seed != Options.Seed) throw new SaeSharpException($"was written with seed {state.Seed}, not {Options.Seed}; resume with the same options or start a new folder", statePath, "seed");
        if (state.Step < 0 || state.Step > Options.Steps) throw new SaeSharpException($"is {state.Step}; the run has {Options.Steps} steps", statePath, "step");
        using var saved = LoraAdapters.LoadPeft(directory, host);
        if (saved.Config.Rank != adapters.Config.Rank || !saved.Config.Layers!.SequenceEqual(adapters.Config.Layers!) || !saved.Config.Modules.SequenceEqual(LoraConfig.AllModules.Where(adapters.Config.Modules.Contains)))
            throw new SaeSharpException("holds adapters of another rank, blocks or modules than this run's; start a new folder", Path.Combine(directory, LoraAdapters.ConfigFileName));
        using (no_grad())
        {
            var target = adapters.Parameters();
            var source = saved.Parameters();
            for (int i = 0; i < target.Count; i++) target[i].Parameter.copy_(source[i].Parameter);
        }
        optimizer.load_state_dict(Path.Combine(directory, OptimizerFileName));
        return state.Step;
    }

    /// <summary>Seeded batches of indices into the training split, pass after pass.</summary>
    private sealed class BatchOrder(int count, int batchSize, long seed)
    {
        private readonly Random _random = new(unchecked((int)seed));
        private int[] _order = [];
        private int _next;

        public int[] Next()
        {
            var batch = new int[Math.Min(batchSize, count)];
            for (int i = 0; i < batch.Length; i++)
            {
                if (_next == _order.Length)
                {
                    _order = Enumerable.Range(0, count).ToArray();
                    _random.Shuffle(_order);
                    _next = 0;
                }
                batch[i] = _order[_next++];
            }
            return batch;
        }
    }
}
