using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using SaeSharp.Hosts;
using SaeSharp.Training;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// Trains the modular-addition host until it groks: full-batch AdamW on the training pairs, cross-entropy on
/// the logits at the <c>=</c> position over the p answers (or the harmonic loss, <see cref="ModAddConfig.Loss"/>), stopping once test accuracy has stayed above
/// <see cref="ModAddConfig.StopTestAccuracy"/> for <see cref="ModAddConfig.StopAfterEvals"/> evaluations and the
/// embedding has become sparse in the Fourier basis (<see cref="ModAddConfig.StopKeyFrequencyFraction"/>).
/// Deterministic given the seed (on a fixed thread count: libtorch's reductions depend on it).
/// </summary>
public static class ModAddTrainer
{
    /// <summary>Steps between checkpoints when training with a checkpoint folder (a few seconds of work on one core).</summary>
    public const int CheckpointEvery = 1000;

    /// <summary>
    /// Trains a model from <paramref name="config"/>. With <paramref name="checkpointFolder"/>, it checkpoints there every
    /// <see cref="CheckpointEvery"/> steps and when cancelled, and continues from a checkpoint of the same config found
    /// there, ending bit-identical to an uninterrupted run (on the same thread count).
    /// </summary>
    /// <exception cref="SaeSharpException">The configuration is invalid, or the loss became non-finite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (after checkpointing, with a checkpoint folder).</exception>
    public static ModAddResult Train(ModAddConfig config, IProgress<ModAddLogEntry>? progress = null, string? checkpointFolder = null,
        CancellationToken cancellationToken = default)
    {
        config.Validate();
        var stopwatch = Stopwatch.StartNew();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        int p = config.P;
        var (trainPairs, testPairs) = ModAddTask.Split(p, config.TrainFraction, config.Seed);
        using var inputs = ModAddTask.AllInputs(p);
        using var labels = ModAddTask.AllLabels(p);
        using var trainIndex = tensor(trainPairs);
        using var testIndex = tensor(testPairs);
        using var trainInputs = inputs.index_select(0, trainIndex);
        using var trainLabels = labels.index_select(0, trainIndex);
        using var testInputs = inputs.index_select(0, testIndex);
        using var testLabels = labels.index_select(0, testIndex);

        var model = new HostTransformer(config.Host, config.Seed);
        try
        {
            // AdamW with held Scalars: the stock step's implicit ones can be freed mid-call under GC pressure.
            using var optimizer = new HeldScalarAdamW(model.parameters(), config.LearningRate, config.Beta1, config.Beta2,
                epsilon: 1e-8, weightDecay: config.WeightDecay);
            var log = new List<ModAddLogEntry>();
            var snapshots = new List<(int Step, Dictionary<string, Tensor> Weights)>();
            int aboveThreshold = 0, step = 0;
            if (checkpointFolder is not null && ModAddCheckpoint.TryLoad(checkpointFolder, config, model, optimizer) is { } resumed)
                (step, aboveThreshold, log, snapshots) = (resumed.Step, resumed.AboveThreshold, resumed.Log, resumed.Snapshots);
            int checkpointed = step;
            void Checkpoint()
            {
                if (checkpointFolder is null || step == checkpointed) return;
                ModAddCheckpoint.Save(checkpointFolder, config, model, optimizer, new ModAddCheckpoint.Progress(step, aboveThreshold, log, snapshots));
                checkpointed = step;
            }
            bool stopped = false;
            while (step < config.MaxSteps && !stopped)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    Checkpoint();
                    cancellationToken.ThrowIfCancellationRequested();
                }
                if (step > 0 && step % CheckpointEvery == 0) Checkpoint();
                using var scope = NewDisposeScope();
                double lr = config.WarmupSteps > 0 ? config.LearningRate * Math.Min((step + 1.0) / config.WarmupSteps, 1.0) : config.LearningRate;
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

                var logitsNC = Logits(model, config, trainInputs);
                var loss = nn.functional.cross_entropy(logitsNC, trainLabels);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                step++;

                // The progress measures read the linear logits' Fourier structure, which a harmonic head does not have.
                bool snapshot = config.SnapshotInterval > 0 && step % config.SnapshotInterval == 0 && config.Loss == ModAddLoss.CrossEntropy;
                if (step % config.EvalInterval != 0 && !snapshot && step != config.MaxSteps) continue;

                double trainLoss = loss.item<float>();
                if (!double.IsFinite(trainLoss))
                    throw new SaeSharpException($"training loss became {trainLoss} at step {step}", field: "loss");
                double trainAccuracy = Accuracy(logitsNC, trainLabels);
                var (testLoss, testAccuracy) = Evaluate(model, config, testInputs, testLabels);
                double keyFraction = KeyFrequenciesOf(model).Explained;
                var entry = new ModAddLogEntry(step, trainLoss, trainAccuracy, testLoss, testAccuracy, keyFraction);
                log.Add(entry);
                progress?.Report(entry);
                if (snapshot) snapshots.Add((step, CloneWeights(model)));
                aboveThreshold = testAccuracy > config.StopTestAccuracy ? aboveThreshold + 1 : 0;
                stopped = aboveThreshold >= config.StopAfterEvals && keyFraction >= config.StopKeyFrequencyFraction;
            }

            var (finalTrainLoss, finalTrainAccuracy) = Evaluate(model, config, trainInputs, trainLabels);
            var (_, finalTestAccuracy) = Evaluate(model, config, testInputs, testLabels);
            var keyFrequencies = KeyFrequenciesOf(model);
            log = AddProgressMeasures(config, log, snapshots, keyFrequencies, inputs, labels, trainIndex);
            stopwatch.Stop();
            return new ModAddResult(model, config, log, step,
                log.FirstOrDefault(e => e.TrainAccuracy > 0.99)?.Step, log.FirstOrDefault(e => e.TestAccuracy > 0.99)?.Step,
                finalTrainAccuracy, finalTestAccuracy, keyFrequencies, stopwatch.Elapsed,
                Process.GetCurrentProcess().TotalProcessorTime - cpuStart, FromCache: false);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The key frequencies of a modular-addition model: from its number-token embedding <c>wte[:p]</c>.</summary>
    public static FourierKeyFrequencies KeyFrequenciesOf(HostTransformer model)
    {
        using var numbers = model.TokenEmbedding.detach().narrow(0, 0, model.Config.OutputSize);
        return Fourier.KeyFrequencies(numbers);
    }

    /// <summary>
    /// The logits at the <c>=</c> position <c>[N, p]</c> that <paramref name="config"/>'s loss reads: the host's own
    /// (cross-entropy), or the HarMax logits of its final representation against the unembedding rows (harmonic), whose
    /// argmax is the nearest class vector. Differentiable.
    /// </summary>
    public static Tensor Logits(HostTransformer model, ModAddConfig config, Tensor inputsN3) => config.Loss switch
    {
        ModAddLoss.CrossEntropy => model.ForwardLastPosition(inputsN3),
        ModAddLoss.Harmonic => HarmonicLogits(model, config, inputsN3),
        _ => throw new SaeSharpException($"is {config.Loss}; unknown loss", field: nameof(ModAddConfig.Loss)),
    };

    private static Tensor HarmonicLogits(HostTransformer model, ModAddConfig config, Tensor inputsN3)
    {
        using var hiddenND = model.ForwardLastPositionHidden(inputsN3);
        return HarmonicLoss.Logits(hiddenND, model.UnembeddingWeight, config.HarmonicExponentInEffect());
    }

    /// <summary>Mean loss and accuracy of the logits at the <c>=</c> position (no gradient).</summary>
    internal static (double Loss, double Accuracy) Evaluate(HostTransformer model, Tensor inputsN3, Tensor labelsN) =>
        Evaluate(model, new ModAddConfig(P: model.Config.OutputSize), inputsN3, labelsN);

    /// <summary>Mean loss and accuracy of the logits <paramref name="config"/>'s loss reads at the <c>=</c> position (no gradient).</summary>
    internal static (double Loss, double Accuracy) Evaluate(HostTransformer model, ModAddConfig config, Tensor inputsN3, Tensor labelsN)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var logitsNC = Logits(model, config, inputsN3);
        return (nn.functional.cross_entropy(logitsNC, labelsN).item<float>(), Accuracy(logitsNC, labelsN));
    }

    /// <summary>The share of rows whose largest logit is the label: logits <c>[N, C]</c>, labels <c>[N]</c>.</summary>
    public static double Accuracy(Tensor logitsNC, Tensor labelsN)
    {
        using var scope = NewDisposeScope();
        return logitsNC.argmax(1).eq(labelsN).to_type(ScalarType.Float64).mean().item<double>();
    }

    private static Dictionary<string, Tensor> CloneWeights(HostTransformer model) =>
        model.NamedWeights().ToDictionary(w => w.Name, w => w.Tensor.detach().clone().DetachFromDisposeScope(), StringComparer.Ordinal);

    /// <summary>Restricted and excluded loss at each snapshot, measured with the final model's key frequencies.</summary>
    private static List<ModAddLogEntry> AddProgressMeasures(
        ModAddConfig config, List<ModAddLogEntry> log, List<(int Step, Dictionary<string, Tensor> Weights)> snapshots,
        FourierKeyFrequencies keyFrequencies, Tensor inputs, Tensor labels, Tensor trainIndex)
    {
        if (snapshots.Count == 0) return log;
        var measures = new Dictionary<int, (double Restricted, double Excluded)>();
        using (var probe = new HostTransformer(config.Host))
        {
            foreach (var (step, weights) in snapshots)
            {
                probe.LoadWeights(weights, $"snapshot at step {step}");
                using var noGrad = no_grad();
                using var logits = probe.ForwardLastPosition(inputs);
                measures[step] = (
                    Fourier.RestrictedLoss(logits, labels, config.P, keyFrequencies.Frequencies.ToArray()),
                    Fourier.ExcludedLoss(logits, labels, trainIndex, config.P, keyFrequencies.Frequencies.ToArray()));
                foreach (var t in weights.Values) t.Dispose();
            }
        }
        return log.Select(e => measures.TryGetValue(e.Step, out var m) ? e with { RestrictedLoss = m.Restricted, ExcludedLoss = m.Excluded } : e).ToList();
    }
}
