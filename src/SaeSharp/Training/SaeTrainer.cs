using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SaeSharp.Internals;
using SaeSharp.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// Trains one SAE from an <see cref="IActivationSource"/>: Adam with warmup and linear decay, sparsity
/// coefficient warmup, dead-latent tracking and AuxK (TopK family), b_dec initialised to the geometric
/// median of a sample, optional input scaling to mean norm √D, metrics to <c>metrics.jsonl</c>, and
/// checkpoints from which <see cref="Resume"/> continues bit-identically.
/// </summary>
public sealed class SaeTrainer : IDisposable
{
    private const int StateFormatVersion = 1;
    private readonly SaeTrainerOptions _options;
    private readonly ILogger _logger;
    private readonly ITrainingStep _step;
    private readonly Tensor _tokensSinceFiredL;
    private long _stepIndex;
    private long _sourcePosition;
    private bool _initialized;

    /// <summary>Prepares a new run; the SAE is created from <paramref name="saeConfig"/> with the run's seed.</summary>
    /// <exception cref="SaeSharpException">A config is invalid, or the output folder already holds an SAE and overwriting is not allowed.</exception>
    public SaeTrainer(SaeConfig saeConfig, TrainConfig trainConfig, SaeTrainerOptions? options = null)
        : this(Sae.Create(saeConfig.Validate(), trainConfig.Validate(saeConfig).Seed), trainConfig, options ?? new SaeTrainerOptions())
    {
        if (_options.OutputDirectory is { } directory && !_options.Overwrite
            && (File.Exists(Path.Combine(directory, SaeCheckpoint.ConfigFileName)) || File.Exists(Path.Combine(directory, TrainingStateFile.FileName))))
            throw new SaeSharpException("already holds an SAE; resume it, choose another folder, or allow overwriting (--force)", directory);
    }

    private SaeTrainer(Sae sae, TrainConfig trainConfig, SaeTrainerOptions options)
    {
        Sae = sae;
        TrainConfig = trainConfig;
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        _step = TrainingStepFactory.Create(sae, trainConfig);
        _tokensSinceFiredL = zeros(sae.LatentCount, dtype: ScalarType.Int64);
    }

    /// <summary>The SAE being trained (weights act on inputs multiplied by <see cref="ActivationScale"/>).</summary>
    public Sae Sae { get; }

    /// <summary>The run's settings.</summary>
    public TrainConfig TrainConfig { get; }

    /// <summary>Steps completed.</summary>
    public long Step => _stepIndex;

    /// <summary>The factor inputs are multiplied by (1 until estimated, or when normalisation is off).</summary>
    public double ActivationScale { get; private set; } = 1.0;

    /// <summary>Metadata recorded with the run (see <see cref="SaeTrainerOptions.Metadata"/>).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _options.Metadata;

    /// <summary>The metadata a run recorded (<see cref="SaeTrainerOptions.Metadata"/>), read from its training state.</summary>
    /// <exception cref="SaeSharpException">The folder has no valid training state.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string directory)
    {
        var snapshot = TrainingStateFile.Load(directory);
        foreach (var tensor in snapshot.Tensors.Values) tensor.Dispose();
        return RunMetadata(snapshot);
    }

    private static Dictionary<string, string> RunMetadata(TrainingStateFile.Snapshot snapshot) =>
        snapshot.Metadata
            .Where(kv => kv.Key.StartsWith("run.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["run.".Length..], kv => kv.Value);

    /// <summary>
    /// Reopens a run from its checkpoint folder. Train it with the same source (same settings); the source
    /// is moved to the saved cursor.
    /// </summary>
    /// <exception cref="SaeSharpException">The folder has no valid training state.</exception>
    public static SaeTrainer Resume(string directory, SaeTrainerOptions? options = null)
    {
        var snapshot = TrainingStateFile.Load(directory);
        var statePath = Path.Combine(directory, TrainingStateFile.FileName);
        if (TrainingStateFile.RequiredLong(snapshot, "format_version", directory) != StateFormatVersion)
            throw new SaeSharpException($"format_version is not {StateFormatVersion}", statePath, "format_version");
        SaeConfig saeConfig;
        TrainConfig trainConfig;
        try
        {
            saeConfig = JsonSerializer.Deserialize(TrainingStateFile.Required(snapshot, "sae_config", directory), SaeSharpJsonContext.Default.SaeConfig)!.Validate();
            trainConfig = JsonSerializer.Deserialize(TrainingStateFile.Required(snapshot, "train_config", directory), SaeSharpJsonContext.Default.TrainConfig)!.Validate(saeConfig);
        }
        catch (JsonException e)
        {
            throw new SaeSharpException($"a config in the training state is not valid JSON: {e.Message}", statePath, inner: e);
        }
        var runMetadata = RunMetadata(snapshot);
        var resolved = (options ?? new SaeTrainerOptions()) with { OutputDirectory = directory, Metadata = runMetadata };
        var trainer = new SaeTrainer(Sae.Create(saeConfig, trainConfig.Seed), trainConfig, resolved);
        trainer.Restore(snapshot, directory);
        return trainer;
    }

    /// <summary>
    /// Runs the remaining steps on a background thread. On cancellation a checkpoint is written (when training
    /// to a folder) and <see cref="OperationCanceledException"/> is thrown; <see cref="Resume"/> continues it.
    /// </summary>
    /// <exception cref="SaeSharpException">The source's width differs from the SAE's, a batch holds non-finite values, or the loss diverged; the last good checkpoint is kept.</exception>
    public Task<TrainResult> TrainAsync(IActivationSource source, IProgress<TrainProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Train(source, progress, cancellationToken), CancellationToken.None);

    private TrainResult Train(IActivationSource source, IProgress<TrainProgress>? progress, CancellationToken cancellationToken)
    {
        if (source.InputDim != Sae.InputDim)
            throw new SaeSharpException($"the source yields rows of width {source.InputDim} but the SAE reads {Sae.InputDim}", field: "d_in");
        if (_options.OutputDirectory is { } outputDirectory)
            Directory.CreateDirectory(outputDirectory);
        if (!_initialized)
            InitializeFromSample(source);
        else
            source.Seek(_sourcePosition);

        var metricsLog = _options.OutputDirectory is { } dir ? new MetricsLog(dir, _stepIndex) : null;
        var tensorBoard = _options.TensorBoard && _options.OutputDirectory is { } tbDir
            ? torch.utils.tensorboard.SummaryWriter(Path.Combine(tbDir, "tensorboard"), createRunName: false) : null;
        using var accumulator = new MetricsAccumulator(Sae.LatentCount);
        var clock = Stopwatch.StartNew();
        var config = TrainConfig;
        double peakRate = config.ResolvedLearningRate(Sae.Config);
        double sparsityTarget = config.ResolvedSparsityCoefficient(Sae.Config);
        int auxKLatents = config.ResolvedAuxKLatents(Sae.Config);
        TrainMetrics? last = null;
        long lastCheckpointStep = _stepIndex;

        while (_stepIndex < config.Steps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                if (_options.OutputDirectory is not null && _stepIndex > lastCheckpointStep)
                    SaveCheckpoint(source);
                cancellationToken.ThrowIfCancellationRequested();
            }
            double learningRate;
            using (NewDisposeScope())
            {
                long position = source.Position;
                var xBD = source.NextBatch(config.BatchSize);
                CheckBatch(xBD, position);
                if (ActivationScale != 1.0) xBD = xBD.mul(ActivationScale);
                learningRate = LearningRateSchedule.At(_stepIndex, config.Steps, peakRate, config.ResolvedWarmupSteps, config.DecayStartFraction);
                double sparsity = LearningRateSchedule.Ramp(_stepIndex, sparsityTarget, config.ResolvedSparsityWarmupSteps);
                var deadMaskL = _tokensSinceFiredL.ge(config.DeadWindowTokens);
                using var result = _step.Step(xBD, new StepSettings(learningRate, sparsity, deadMaskL, config.AuxKCoefficient, auxKLatents));
                _tokensSinceFiredL.add_(xBD.shape[0]).masked_fill_(result.FiredCountsL.gt(0), 0);
                UpdateBatchTopKThreshold(result);
                accumulator.Add(result, xBD.shape[0]);
            }
            _stepIndex++;
            _sourcePosition = source.Position;

            TrainMetrics? metrics = null;
            if (_stepIndex % config.LogEvery == 0 || _stepIndex == config.Steps)
            {
                metrics = accumulator.Flush(_stepIndex, _sourcePosition, learningRate, Sae.InputDim, _tokensSinceFiredL, config, clock.Elapsed.TotalSeconds);
                if (!double.IsFinite(metrics.Loss))
                    throw new SaeSharpException($"loss became {metrics.Loss} by step {_stepIndex}; training stopped and the last good checkpoint (step {lastCheckpointStep}) is kept. Lower the learning rate or check the activations.", _options.OutputDirectory, "loss");
                last = metrics;
                metricsLog?.Append(metrics);
                WriteTensorBoard(tensorBoard, metrics);
                Log.Metrics(_logger, metrics.Step, metrics.Loss, metrics.Fvu, metrics.L0, metrics.DeadFraction);
            }
            progress?.Report(new TrainProgress(_stepIndex, config.Steps, metrics));

            if (_options.OutputDirectory is not null && config.CheckpointEvery > 0 && _stepIndex % config.CheckpointEvery == 0 && _stepIndex < config.Steps)
            {
                SaveCheckpoint(source);
                lastCheckpointStep = _stepIndex;
            }
        }
        last ??= accumulator.Flush(_stepIndex, _sourcePosition, 0, Sae.InputDim, _tokensSinceFiredL, config, clock.Elapsed.TotalSeconds);
        if (_options.OutputDirectory is not null)
            SaveCheckpoint(source);
        Sae.eval();
        return new TrainResult(Sae, ActivationScale, last, _options.OutputDirectory);
    }

    private static void CheckBatch(Tensor xBD, long position)
    {
        if (xBD.dim() != 2)
            throw new SaeSharpException($"the source returned a batch of shape [{string.Join(", ", xBD.shape)}], expected [B, D]", field: "activations");
        if (!isfinite(xBD).all().item<bool>())
            throw new SaeSharpException($"the activation batch at rows {position}..{position + xBD.shape[0] - 1} contains NaN or infinite values; training stopped before using it", field: "activations");
    }

    /// <summary>Scale to mean norm √D and b_dec at the geometric median, from the first rows of the source (which is then rewound).</summary>
    private void InitializeFromSample(IActivationSource source)
    {
        long start = source.Position;
        int rows = (int)Math.Min(TrainConfig.InitSampleRows, source.RowCount ?? long.MaxValue);
        using (NewDisposeScope())
        using (no_grad())
        {
            var sampleND = source.NextBatch(rows);
            CheckBatch(sampleND, start);
            if (TrainConfig.NormalizeActivations)
            {
                double meanNorm = sampleND.to(ScalarType.Float64).norm(1).mean().item<double>();
                if (!(meanNorm > 0))
                    throw new SaeSharpException("the activation sample has zero mean norm; cannot normalise (turn normalisation off or check the data)", field: "activations");
                ActivationScale = Math.Sqrt(Sae.InputDim) / meanNorm;
            }
            var median = GeometricMedian.Compute(sampleND.to(ScalarType.Float64).mul(ActivationScale));
            Sae.DecoderBiasD.copy_(median);
        }
        source.Seek(start);
        _initialized = true;
    }

    private void UpdateBatchTopKThreshold(StepResult result)
    {
        if (Sae is not BatchTopKSae batchTopK || result.MinSelectedActivation is null) return;
        var decay = ((BatchTopKArchitecture)Sae.Config.Architecture).ThresholdDecay;
        using var noGrad = no_grad();
        if (_stepIndex == 0)
            batchTopK.ThresholdL.copy_(result.MinSelectedActivation.expand_as(batchTopK.ThresholdL));
        else
            batchTopK.ThresholdL.mul_(decay).add_(result.MinSelectedActivation, alpha: 1 - decay);
    }

    private void SaveCheckpoint(IActivationSource source)
    {
        var directory = _options.OutputDirectory!;
        using (NewDisposeScope())
        {
            foreach (var (name, parameter) in Sae.TrainableParameters)
            {
                if (!isfinite(parameter).all().item<bool>())
                    throw new SaeSharpException($"parameter {name} holds non-finite values at step {_stepIndex}; the last good checkpoint is kept", directory, "loss");
            }
        }
        var metadata = new Dictionary<string, object?>();
        foreach (var (key, value) in _options.Metadata) metadata[key] = value;
        metadata["saesharp_step"] = _stepIndex;
        SaeCheckpoint.Save(Sae, directory, ActivationScale, metadata);

        var tensors = new List<(string, Tensor)>();
        foreach (var (name, parameter) in Sae.TrainableParameters) tensors.Add(($"param.{name}", parameter));
        if (Sae is BatchTopKSae batch) tensors.Add(("buffer.threshold", batch.ThresholdL));
        tensors.AddRange(_step.OptimizerState());
        tensors.Add(("dead.tokens_since_fired", _tokensSinceFiredL));
        using var rng = torch.get_rng_state();
        tensors.Add(("rng.torch_cpu", rng));
        var state = new Dictionary<string, string>
        {
            ["format_version"] = StateFormatVersion.ToString(CultureInfo.InvariantCulture),
            ["step"] = _stepIndex.ToString(CultureInfo.InvariantCulture),
            ["source_position"] = source.Position.ToString(CultureInfo.InvariantCulture),
            ["activation_scale"] = ActivationScale.ToString("R", CultureInfo.InvariantCulture),
            ["sae_config"] = JsonSerializer.Serialize(Sae.Config, SaeSharpJsonContext.Default.SaeConfig),
            ["train_config"] = JsonSerializer.Serialize(TrainConfig, SaeSharpJsonContext.Default.TrainConfig),
        };
        foreach (var (key, value) in _options.Metadata) state["run." + key] = value;
        TrainingStateFile.Save(directory, tensors, state);
        Log.Checkpoint(_logger, _stepIndex, directory);
    }

    private void Restore(TrainingStateFile.Snapshot snapshot, string directory)
    {
        var statePath = Path.Combine(directory, TrainingStateFile.FileName);
        Tensor Get(string name, long[] shape)
        {
            if (!snapshot.Tensors.TryGetValue(name, out var value))
                throw new SaeSharpException("training state lacks this tensor", statePath, name);
            if (!value.shape.SequenceEqual(shape))
                throw new SaeSharpException($"shape [{string.Join(", ", value.shape)}] where [{string.Join(", ", shape)}] is expected", statePath, name);
            return value;
        }
        using (no_grad())
        {
            foreach (var (name, parameter) in Sae.TrainableParameters)
                parameter.copy_(Get($"param.{name}", parameter.shape));
            if (Sae is BatchTopKSae batch)
                batch.ThresholdL.copy_(Get("buffer.threshold", batch.ThresholdL.shape));
            _tokensSinceFiredL.copy_(Get("dead.tokens_since_fired", _tokensSinceFiredL.shape));
        }
        _step.LoadOptimizerState(snapshot.Tensors);
        if (snapshot.Tensors.TryGetValue("rng.torch_cpu", out var rng))
            torch.set_rng_state(rng);
        _stepIndex = TrainingStateFile.RequiredLong(snapshot, "step", directory);
        _sourcePosition = TrainingStateFile.RequiredLong(snapshot, "source_position", directory);
        ActivationScale = TrainingStateFile.RequiredDouble(snapshot, "activation_scale", directory);
        _initialized = true;
        foreach (var tensor in snapshot.Tensors.Values) tensor.Dispose();
    }

    private static void WriteTensorBoard(TorchSharp.Modules.SummaryWriter? writer, TrainMetrics metrics)
    {
        if (writer is null) return;
        int step = (int)Math.Min(metrics.Step, int.MaxValue);
        writer.add_scalar("loss/total", (float)metrics.Loss, step);
        writer.add_scalar("loss/mse", (float)metrics.Mse, step);
        writer.add_scalar("loss/auxk", (float)metrics.AuxKLoss, step);
        writer.add_scalar("metrics/fvu", (float)metrics.Fvu, step);
        writer.add_scalar("metrics/l0", (float)metrics.L0, step);
        writer.add_scalar("metrics/dead_fraction", (float)metrics.DeadFraction, step);
        writer.add_scalar("metrics/dense_fraction", (float)metrics.DenseFraction, step);
        writer.add_scalar("schedule/learning_rate", (float)metrics.LearningRate, step);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _step.Dispose();
        _tokensSinceFiredL.Dispose();
    }
}
