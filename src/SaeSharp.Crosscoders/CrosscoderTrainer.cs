using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SaeSharp.Crosscoders.Internals;
using SaeSharp.Internals;
using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders;

/// <summary>
/// Trains a crosscoder from a paired source: rows <c>[B, S·D]</c> holding the S sources of one token position
/// side by side (see <see cref="PairedActivationSource"/>). Adam (shared with the SAE trainer) with warmup and
/// linear decay, L1-coefficient warmup, per-source scaling to mean norm √D, dead-latent tracking and AuxK
/// (BatchTopK), per-source FVU in <c>metrics.jsonl</c>, and checkpoints from which <see cref="Resume"/>
/// continues bit-identically.
/// </summary>
public sealed class CrosscoderTrainer : IDisposable
{
    /// <summary>The training state's file name beside the checkpoint.</summary>
    public const string StateFileName = TrainingStateFile.FileName;

    /// <summary>The metrics log's file name.</summary>
    public const string MetricsFileName = "metrics.jsonl";

    private const int StateFormatVersion = 1;
    private readonly string? _outputDirectory;
    private readonly ICrosscoderStep _step;
    private readonly Tensor _tokensSinceFiredL;
    private double[] _scales;
    private long _stepIndex;
    private long _sourcePosition;
    private bool _initialized;

    /// <summary>Prepares a new run; the crosscoder is created from <paramref name="config"/> with the run's seed.</summary>
    /// <param name="config">Shape and sparsity rule.</param>
    /// <param name="trainConfig">Schedule and options.</param>
    /// <param name="outputDirectory">Folder for checkpoints and metrics, or null to train in memory.</param>
    /// <param name="overwrite">Whether a folder that already holds a crosscoder may be reused.</param>
    /// <exception cref="SaeSharpException">A config is invalid, or the folder holds a crosscoder and overwriting is not allowed.</exception>
    public CrosscoderTrainer(CrosscoderConfig config, CrosscoderTrainConfig trainConfig, string? outputDirectory = null, bool overwrite = false)
        : this(Crosscoder.Create(config.Validate(), trainConfig.Validate().Seed), trainConfig, outputDirectory)
    {
        if (outputDirectory is not null && !overwrite
            && (File.Exists(Path.Combine(outputDirectory, CrosscoderCheckpoint.ConfigFileName)) || File.Exists(Path.Combine(outputDirectory, StateFileName))))
            throw new SaeSharpException("already holds a crosscoder; resume it, choose another folder, or allow overwriting (--force)", outputDirectory);
    }

    private CrosscoderTrainer(Crosscoder crosscoder, CrosscoderTrainConfig trainConfig, string? outputDirectory)
    {
        Crosscoder = crosscoder;
        TrainConfig = trainConfig;
        _outputDirectory = outputDirectory;
        _step = CreateStep(crosscoder, trainConfig.Step);
        _tokensSinceFiredL = zeros(crosscoder.LatentCount, dtype: ScalarType.Int64);
        _scales = Enumerable.Repeat(1.0, crosscoder.SourceCount).ToArray();
    }

    /// <summary>
    /// The step for <paramref name="kind"/>. Auto takes the fused sparse step wherever it applies (BatchTopK, CPU,
    /// float32/float64). L1 always trains with autograd: its ReLU code is dense (early in training about half the
    /// latents fire on every row), so there is no sparsity for a hand-written backward to exploit, and libtorch's
    /// dense products are already the fastest way to do that work.
    /// </summary>
    /// <exception cref="SaeSharpException">Fused was demanded where it does not apply.</exception>
    private static ICrosscoderStep CreateStep(Crosscoder crosscoder, TrainingStepKind kind) => kind switch
    {
        TrainingStepKind.Autograd => new CrosscoderStep(crosscoder),
        TrainingStepKind.Fused => new FusedCrosscoderStep(crosscoder),
        _ => FusedCrosscoderStep.Supports(crosscoder) ? new FusedCrosscoderStep(crosscoder) : new CrosscoderStep(crosscoder),
    };

    /// <summary>The step implementation this run uses.</summary>
    internal ICrosscoderStep TrainingStep => _step;

    /// <summary>The crosscoder being trained (weights act on inputs multiplied by <see cref="SourceScales"/>).</summary>
    public Crosscoder Crosscoder { get; }

    /// <summary>The run's settings.</summary>
    public CrosscoderTrainConfig TrainConfig { get; }

    /// <summary>Steps completed.</summary>
    public long Step => _stepIndex;

    /// <summary>Per-source input factors (ones until estimated, or when normalisation is off).</summary>
    public IReadOnlyList<double> SourceScales => _scales;

    /// <summary>Reopens a run from its folder; train it with the same source, which is moved to the saved cursor.</summary>
    /// <exception cref="SaeSharpException">The folder has no valid training state.</exception>
    public static CrosscoderTrainer Resume(string directory)
    {
        var snapshot = TrainingStateFile.Load(directory);
        var statePath = Path.Combine(directory, StateFileName);
        try
        {
            if (TrainingStateFile.RequiredLong(snapshot, "format_version", directory) != StateFormatVersion)
                throw new SaeSharpException($"format_version is not {StateFormatVersion}", statePath, "format_version");
            if (TrainingStateFile.Required(snapshot, "kind", directory) != "crosscoder")
                throw new SaeSharpException("is not a crosscoder's training state", statePath, "kind");
            CrosscoderConfig config;
            CrosscoderTrainConfig trainConfig;
            try
            {
                config = JsonSerializer.Deserialize(TrainingStateFile.Required(snapshot, "crosscoder_config", directory), CrosscoderJsonContext.Default.CrosscoderConfig)!.Validate();
                trainConfig = JsonSerializer.Deserialize(TrainingStateFile.Required(snapshot, "train_config", directory), CrosscoderJsonContext.Default.CrosscoderTrainConfig)!.Validate();
            }
            catch (JsonException e)
            {
                throw new SaeSharpException($"a config in the training state is not valid JSON: {e.Message}", statePath, inner: e);
            }
            var trainer = new CrosscoderTrainer(Crosscoder.CreateEmpty(config), trainConfig, directory);
            trainer.Restore(snapshot, directory);
            return trainer;
        }
        finally
        {
            foreach (var tensor in snapshot.Tensors.Values) tensor.Dispose();
        }
    }

    /// <summary>
    /// Runs the remaining steps on a background thread. On cancellation a checkpoint is written (when training to a
    /// folder) and <see cref="OperationCanceledException"/> is thrown; <see cref="Resume"/> continues it.
    /// </summary>
    /// <param name="source">Paired rows <c>[B, S·D]</c>.</param>
    /// <param name="progress">Receives every step, with metrics at log intervals.</param>
    /// <param name="cancellationToken">Stops the run after the current step.</param>
    /// <exception cref="SaeSharpException">The source's width is not S·D, a batch holds non-finite values, or the loss diverged.</exception>
    public Task<CrosscoderTrainResult> TrainAsync(IActivationSource source, IProgress<CrosscoderProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Train(source, progress, cancellationToken), CancellationToken.None);

    private CrosscoderTrainResult Train(IActivationSource source, IProgress<CrosscoderProgress>? progress, CancellationToken cancellationToken)
    {
        int s = Crosscoder.SourceCount, d = Crosscoder.InputDim;
        if (source.InputDim != s * d)
            throw new SaeSharpException($"the source yields rows of width {source.InputDim} but the crosscoder reads {s} sources of width {d} ({s * d})", field: "d_in");
        if (_outputDirectory is not null) Directory.CreateDirectory(_outputDirectory);
        if (!_initialized) InitializeFromSample(source);
        else source.Seek(_sourcePosition);

        var metricsPath = _outputDirectory is null ? null : Path.Combine(_outputDirectory, MetricsFileName);
        if (metricsPath is not null) TrimMetrics(metricsPath, _stepIndex);
        var config = TrainConfig;
        var clock = Stopwatch.StartNew();
        using var scalesS11 = tensor(_scales.Select(v => (float)v).ToArray()).view(1, s, 1);
        int auxKLatents = config.ResolvedAuxKLatents(Crosscoder.Config);
        var sums = new Accumulated(s);
        CrosscoderMetrics? last = null;
        long lastCheckpoint = _stepIndex;

        while (_stepIndex < config.Steps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                if (_outputDirectory is not null && _stepIndex > lastCheckpoint) SaveCheckpoint();
                cancellationToken.ThrowIfCancellationRequested();
            }
            double learningRate = LearningRateSchedule.At(_stepIndex, config.Steps, config.LearningRate, config.ResolvedWarmupSteps, config.DecayStartFraction);
            using (NewDisposeScope())
            {
                long position = source.Position;
                var xBX = source.NextBatch(config.BatchSize);
                CheckBatch(xBX, position, s * d);
                var xBSD = xBX.view(xBX.shape[0], s, d).mul(scalesS11);
                double l1 = LearningRateSchedule.Ramp(_stepIndex, config.L1Coefficient, config.ResolvedL1WarmupSteps);
                var deadMaskL = _tokensSinceFiredL.ge(config.DeadWindowTokens);
                using var result = _step.Step(xBSD, learningRate, l1, deadMaskL, config.AuxKCoefficient, auxKLatents);
                _tokensSinceFiredL.add_(xBSD.shape[0]).masked_fill_(result.FiredCountsL.gt(0), 0);
                UpdateThreshold(result);
                sums.Add(result);
            }
            _stepIndex++;
            _sourcePosition = source.Position;

            CrosscoderMetrics? metrics = null;
            if (_stepIndex % config.LogEvery == 0 || _stepIndex == config.Steps)
            {
                metrics = sums.Flush(_stepIndex, _sourcePosition, learningRate, _tokensSinceFiredL, config, clock.Elapsed.TotalSeconds);
                if (!double.IsFinite(metrics.Loss))
                    throw new SaeSharpException($"loss became {metrics.Loss} by step {_stepIndex}; training stopped and the last good checkpoint (step {lastCheckpoint}) is kept. Lower the learning rate.", _outputDirectory, "loss");
                last = metrics;
                if (metricsPath is not null)
                    File.AppendAllText(metricsPath, JsonSerializer.Serialize(metrics, CrosscoderCompactJsonContext.Default.CrosscoderMetrics) + "\n");
            }
            progress?.Report(new CrosscoderProgress(_stepIndex, config.Steps, metrics));
            if (_outputDirectory is not null && config.CheckpointEvery > 0 && _stepIndex % config.CheckpointEvery == 0 && _stepIndex < config.Steps)
            {
                SaveCheckpoint();
                lastCheckpoint = _stepIndex;
            }
        }
        last ??= sums.Flush(_stepIndex, _sourcePosition, 0, _tokensSinceFiredL, config, clock.Elapsed.TotalSeconds);
        if (_outputDirectory is not null) SaveCheckpoint();
        Crosscoder.eval();
        return new CrosscoderTrainResult(Crosscoder, _scales.ToArray(), last, _outputDirectory);
    }

    private static void CheckBatch(Tensor xBX, long position, int width)
    {
        if (xBX.dim() != 2 || xBX.shape[1] != width)
            throw new SaeSharpException($"the source returned a batch of shape [{string.Join(", ", xBX.shape)}], expected [B, {width}]", field: "activations");
        if (!isfinite(xBX).all().item<bool>())
            throw new SaeSharpException($"the activation batch at rows {position}..{position + xBX.shape[0] - 1} contains NaN or infinite values; training stopped before using it", field: "activations");
    }

    /// <summary>Per-source scales to mean norm √D from the first rows (the source is then rewound); b_dec at the per-source mean.</summary>
    private void InitializeFromSample(IActivationSource source)
    {
        long start = source.Position;
        int s = Crosscoder.SourceCount, d = Crosscoder.InputDim;
        int rows = (int)Math.Min(TrainConfig.InitSampleRows, source.RowCount ?? long.MaxValue);
        using (NewDisposeScope())
        using (no_grad())
        {
            var sampleNX = source.NextBatch(rows);
            CheckBatch(sampleNX, start, s * d);
            var sampleNSD = sampleNX.to_type(ScalarType.Float64).view(-1, s, d);
            if (TrainConfig.NormalizeActivations)
            {
                var meanNormS = sampleNSD.norm(2, keepdim: false).mean([0]).data<double>().ToArray();
                for (int i = 0; i < s; i++)
                {
                    if (!(meanNormS[i] > 0))
                        throw new SaeSharpException($"source {i} ({Crosscoder.Config.SourceName(i)}) has zero mean norm in the sample; cannot normalise it", field: "activations");
                    _scales[i] = Math.Sqrt(d) / meanNormS[i];
                }
            }
            var scalesS1 = tensor(_scales).view(s, 1);
            Crosscoder.DecoderBiasSD.copy_(sampleNSD.mean([0]).mul(scalesS1));
        }
        source.Seek(start);
        _initialized = true;
    }

    private void UpdateThreshold(CrosscoderStepResult result)
    {
        if (Crosscoder.Config.Sparsity != CrosscoderSparsity.BatchTopK || result.MinSelectedActivation is null) return;
        double decay = Crosscoder.Config.ThresholdDecay;
        using var noGrad = no_grad();
        if (_stepIndex == 0)
            Crosscoder.ThresholdL.copy_(result.MinSelectedActivation.expand_as(Crosscoder.ThresholdL));
        else
            Crosscoder.ThresholdL.mul_(decay).add_(result.MinSelectedActivation, alpha: 1 - decay);
    }

    private void SaveCheckpoint()
    {
        var directory = _outputDirectory!;
        foreach (var (name, parameter) in Crosscoder.TrainableParameters)
        {
            using var finite = isfinite(parameter).all();
            if (!finite.item<bool>())
                throw new SaeSharpException($"parameter {name} holds non-finite values at step {_stepIndex}; the last good checkpoint is kept", directory, "loss");
        }
        CrosscoderCheckpoint.Save(Crosscoder, directory, _scales, _stepIndex);
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, parameter) in Crosscoder.TrainableParameters) tensors.Add(($"param.{name}", parameter));
        tensors.Add(("buffer.threshold", Crosscoder.ThresholdL));
        tensors.Add(("tokens_since_fired", _tokensSinceFiredL));
        tensors.AddRange(_step.OptimizerState());
        var inv = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["format_version"] = StateFormatVersion.ToString(inv),
            ["kind"] = "crosscoder",
            ["step"] = _stepIndex.ToString(inv),
            ["source_position"] = _sourcePosition.ToString(inv),
            ["source_scales"] = string.Join(",", _scales.Select(v => v.ToString("R", inv))),
            ["crosscoder_config"] = JsonSerializer.Serialize(Crosscoder.Config, CrosscoderJsonContext.Default.CrosscoderConfig),
            ["train_config"] = JsonSerializer.Serialize(TrainConfig, CrosscoderJsonContext.Default.CrosscoderTrainConfig),
        };
        TrainingStateFile.Save(directory, tensors, metadata);
    }

    private void Restore(TrainingStateFile.Snapshot snapshot, string directory)
    {
        var statePath = Path.Combine(directory, StateFileName);
        using (no_grad())
        {
            foreach (var (name, parameter) in Crosscoder.TrainableParameters)
                parameter.copy_(RequiredTensor(snapshot, $"param.{name}", parameter, statePath));
            Crosscoder.ThresholdL.copy_(RequiredTensor(snapshot, "buffer.threshold", Crosscoder.ThresholdL, statePath));
            _tokensSinceFiredL.copy_(RequiredTensor(snapshot, "tokens_since_fired", _tokensSinceFiredL, statePath));
        }
        _step.LoadOptimizerState(snapshot.Tensors);
        _stepIndex = TrainingStateFile.RequiredLong(snapshot, "step", directory);
        _sourcePosition = TrainingStateFile.RequiredLong(snapshot, "source_position", directory);
        var scales = TrainingStateFile.Required(snapshot, "source_scales", directory).Split(',');
        if (scales.Length != Crosscoder.SourceCount)
            throw new SaeSharpException($"holds {scales.Length} scales for {Crosscoder.SourceCount} sources", statePath, "source_scales");
        _scales = scales.Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0 && double.IsFinite(x)
            ? x : throw new SaeSharpException($"'{v}' is not a positive number", statePath, "source_scales")).ToArray();
        _initialized = true;
    }

    private static Tensor RequiredTensor(TrainingStateFile.Snapshot snapshot, string name, Tensor like, string path)
    {
        if (!snapshot.Tensors.TryGetValue(name, out var value))
            throw new SaeSharpException("training state lacks this tensor", path, name);
        if (!value.shape.SequenceEqual(like.shape) || value.dtype != like.dtype)
            throw new SaeSharpException($"is {value.dtype} [{string.Join(", ", value.shape)}], expected {like.dtype} [{string.Join(", ", like.shape)}]", path, name);
        return value;
    }

    /// <summary>Drops records past <paramref name="step"/> (a resumed run rewrites them); a new run starts the file empty.</summary>
    private static void TrimMetrics(string path, long step)
    {
        if (step == 0 || !File.Exists(path))
        {
            AtomicFile.WriteAllText(path, "");
            return;
        }
        var kept = File.ReadAllLines(path).Where(line =>
        {
            if (string.IsNullOrWhiteSpace(line)) return false;
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.GetProperty("step").GetInt64() <= step;
        });
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _step.Dispose();
        _tokensSinceFiredL.Dispose();
    }

    /// <summary>Sums of step results between metric records.</summary>
    private sealed class Accumulated(int sources)
    {
        private readonly double[] _squaredError = new double[sources];
        private readonly double[] _variance = new double[sources];
        private double _loss, _sparsity, _auxK, _l0;
        private int _steps;

        public void Add(CrosscoderStepResult result)
        {
            // Read every step: a few scalars, cheap on the CPU this trainer targets (on a GPU it would cost a sync per step).
            _loss += result.Loss.item<float>();
            _sparsity += result.SparsityLoss.item<float>();
            _auxK += result.AuxKLoss.item<float>();
            _l0 += result.L0.item<double>();
            var se = result.SquaredErrorS.data<double>().ToArray();
            var va = result.VarianceS.data<double>().ToArray();
            for (int i = 0; i < sources; i++) { _squaredError[i] += se[i]; _variance[i] += va[i]; }
            _steps++;
        }

        public CrosscoderMetrics Flush(long step, long tokens, double learningRate, Tensor tokensSinceFiredL, CrosscoderTrainConfig config, double elapsed)
        {
            int n = Math.Max(1, _steps);
            double dead;
            using (var deadL = tokensSinceFiredL.ge(config.DeadWindowTokens).to_type(ScalarType.Float64).mean()) dead = deadL.item<double>();
            var fvu = Enumerable.Range(0, sources).Select(i => _variance[i] > 0 ? _squaredError[i] / _variance[i] : 0).ToArray();
            double total = _variance.Sum() > 0 ? _squaredError.Sum() / _variance.Sum() : 0;
            var metrics = new CrosscoderMetrics(step, tokens, learningRate, _loss / n, total, fvu, _l0 / n, dead, _sparsity / n, _auxK / n, elapsed);
            Array.Clear(_squaredError); Array.Clear(_variance);
            _loss = _sparsity = _auxK = _l0 = 0;
            _steps = 0;
            return metrics;
        }
    }
}
