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
/// The one training engine every dictionary shares (SAEs here, crosscoders in SaeSharp.Crosscoders): the loop
/// over batches, the learning-rate schedule (linear warmup, constant, linear decay) and sparsity-coefficient
/// warmup, dead-latent tracking for AuxK, the non-finite stop, metrics (<c>metrics.jsonl</c>, TensorBoard,
/// <see cref="ILogger"/>, <see cref="IProgress{T}"/>), checkpoints and the training state from which a stopped
/// run resumes bit-identically. A subclass owns the model: it creates the <see cref="ITrainingStep"/>,
/// initialises from a sample, prepares each batch, and writes and restores the model's own files and entries.
/// </summary>
/// <remarks>
/// Training state (<see cref="TrainingState.FileName"/>): the model's tensors as the subclass names them
/// (<c>param.NAME</c>, <c>buffer.NAME</c>), the step's optimizer tensors, <c>dead.tokens_since_fired</c> and
/// <c>rng.torch_cpu</c>; metadata <c>format_version</c>, <c>step</c>, <c>source_position</c>, <c>train_config</c>,
/// <c>run.*</c> (<see cref="TrainerOptions.Metadata"/>) and whatever the subclass adds.
/// </remarks>
public abstract class DictionaryTrainer : IDisposable
{
    private const int StateFormatVersion = 1;
    private const string DeadCounterName = "dead.tokens_since_fired";
    // Crosscoder states written before the engine was shared named the dead counter without its prefix.
    private const string LegacyDeadCounterName = "tokens_since_fired";
    private readonly ILogger _logger;
    private readonly Tensor _tokensSinceFiredL;
    private ITrainingStep? _step;
    private long _stepIndex;
    private long _sourcePosition;
    private bool _initialized;

    /// <summary>The metrics log's file name inside a run folder (one JSON record per line).</summary>
    public const string MetricsFileName = MetricsLog.FileName;

    /// <summary>Prepares a run of <paramref name="trainConfig"/> for a model with <paramref name="latentCount"/> latents reading rows of <paramref name="rowWidth"/> values.</summary>
    /// <exception cref="SaeSharpException">The config is invalid.</exception>
    protected DictionaryTrainer(TrainConfig trainConfig, TrainerOptions options, int latentCount, int rowWidth, int sourceCount = 1)
    {
        TrainConfig = trainConfig.Validate();
        Options = options;
        LatentCount = latentCount;
        RowWidth = rowWidth;
        SourceCount = sourceCount;
        _logger = options.Logger ?? NullLogger.Instance;
        _tokensSinceFiredL = zeros(latentCount, dtype: ScalarType.Int64);
    }

    /// <summary>The run's settings.</summary>
    public TrainConfig TrainConfig { get; }

    /// <summary>Where and how the run records itself.</summary>
    public TrainerOptions Options { get; }

    /// <summary>Steps completed.</summary>
    public long Step => _stepIndex;

    /// <summary>The model's latent count L.</summary>
    public int LatentCount { get; }

    /// <summary>The width of the rows the source must yield.</summary>
    public int RowWidth { get; }

    /// <summary>How many sources a row holds side by side (1 for an SAE).</summary>
    public int SourceCount { get; }

    /// <summary>The step this run uses (created by <see cref="CreateStep"/> on first use).</summary>
    public ITrainingStep TrainingStep => _step ??= CreateStep();

    /// <summary>"SAE", "crosscoder": what the model is called in messages.</summary>
    protected abstract string ModelName { get; }

    /// <summary>The model's own config file in a run folder (its presence means the folder holds a run).</summary>
    protected abstract string ModelConfigFileName { get; }

    /// <summary>The learning rate when <see cref="TrainConfig.LearningRate"/> is null.</summary>
    protected abstract double DefaultLearningRate { get; }

    /// <summary>The sparsity coefficient when <see cref="TrainConfig.SparsityCoefficient"/> is null.</summary>
    protected abstract double DefaultSparsityCoefficient { get; }

    /// <summary>Creates the training step for the model and <see cref="TrainConfig.StepKind"/>.</summary>
    protected abstract ITrainingStep CreateStep();

    /// <summary>The model's tensors that a resumed run must get back exactly, by training-state name.</summary>
    protected abstract IReadOnlyList<(string Name, Tensor Tensor)> ModelState();

    /// <summary>Estimates scales and initial biases from the first rows (<c>[N, RowWidth]</c>, finite); the source is rewound afterwards.</summary>
    protected abstract void InitializeFromSample(Tensor sampleNX);

    /// <summary>Turns a source batch <c>[B, RowWidth]</c> into the step's input (scaled; reshaped if the step wants).</summary>
    protected abstract Tensor PrepareBatch(Tensor xBX);

    /// <summary>Called after every step with its result and the step's index (0-based), e.g. to track a BatchTopK threshold.</summary>
    protected virtual void OnStep(StepResult result, long stepIndex)
    {
    }

    /// <summary>Writes the model's own files (config and weights) into <paramref name="directory"/>.</summary>
    protected abstract void WriteModel(string directory, long step);

    /// <summary>Adds the model's entries (its config, scales) to the training-state metadata.</summary>
    protected abstract void WriteStateMetadata(IDictionary<string, string> metadata);

    /// <summary>Reads back what <see cref="WriteStateMetadata"/> wrote, when resuming.</summary>
    protected abstract void RestoreStateMetadata(TrainingState state);

    /// <summary>
    /// The options of a resumed run: the caller's, pointed at the run's folder and carrying the metadata it
    /// was written with.
    /// </summary>
    protected static TrainerOptions ResumeOptions(TrainingState state, TrainerOptions? options) =>
        (options ?? new TrainerOptions()) with { OutputDirectory = state.Directory, Metadata = state.RunMetadata };

    /// <summary>The run's train config as the training state holds it (also the crosscoder states written before the engine was shared).</summary>
    /// <exception cref="SaeSharpException">The entry is missing or malformed.</exception>
    protected static TrainConfig ReadTrainConfig(TrainingState state)
    {
        if (state.RequiredLong("format_version") != StateFormatVersion)
            throw new SaeSharpException($"format_version is not {StateFormatVersion}", state.Path, "format_version");
        return TrainConfigReader.Read(state);
    }

    /// <summary>Refuses a new run in a folder that already holds one, unless <see cref="TrainerOptions.Overwrite"/> allows it.</summary>
    /// <exception cref="SaeSharpException">The folder holds a run.</exception>
    protected void ThrowIfOutputHoldsRun()
    {
        if (Options.OutputDirectory is { } directory && !Options.Overwrite
            && (File.Exists(Path.Combine(directory, ModelConfigFileName)) || File.Exists(Path.Combine(directory, TrainingState.FileName))
                || File.Exists(Path.Combine(directory, MetricsFileName))))
            throw new SaeSharpException($"already holds a trained {ModelName}; resume it, choose another folder, or set `overwrite` to replace it", directory);
    }

    /// <summary>Continues from <paramref name="state"/>: model tensors, optimizer, dead counters, RNG, step and data cursor.</summary>
    /// <exception cref="SaeSharpException">An entry is missing or has the wrong shape.</exception>
    protected void Restore(TrainingState state)
    {
        using (no_grad())
        {
            foreach (var (name, tensor) in ModelState())
                tensor.copy_(state.RequiredTensor(name, tensor));
            var deadName = state.Tensors.ContainsKey(DeadCounterName) || !state.Tensors.ContainsKey(LegacyDeadCounterName) ? DeadCounterName : LegacyDeadCounterName;
            _tokensSinceFiredL.copy_(state.RequiredTensor(deadName, _tokensSinceFiredL));
        }
        try
        {
            TrainingStep.LoadOptimizerState(state.Tensors);
        }
        catch (SaeSharpException e) when (e.FilePath is null)
        {
            throw new SaeSharpException(e.Message, state.Path, inner: e);
        }
        _stepIndex = state.RequiredNonNegativeLong("step");
        _sourcePosition = state.RequiredNonNegativeLong("source_position");
        RestoreStateMetadata(state);
        // Last: the global generator changes only once everything else has been read.
        if (state.RngState() is { } rng)
            torch.set_rng_state(rng);
        _initialized = true;
    }

    /// <summary>
    /// Runs the remaining steps on a background thread and returns the last metrics record. On cancellation a
    /// checkpoint is written (when training to a folder) and <see cref="OperationCanceledException"/> is thrown;
    /// the subclass's Resume continues it.
    /// </summary>
    /// <exception cref="SaeSharpException">The source's width differs from <see cref="RowWidth"/>, a batch holds non-finite values, or the loss diverged; the last good checkpoint is kept.</exception>
    protected Task<TrainMetrics> RunAsync(IActivationSource source, IProgress<TrainProgress>? progress, CancellationToken cancellationToken) =>
        Task.Run(() => Run(source, progress, cancellationToken), CancellationToken.None);

    private TrainMetrics Run(IActivationSource source, IProgress<TrainProgress>? progress, CancellationToken cancellationToken)
    {
        if (source.InputDim != RowWidth)
            throw new SaeSharpException($"the source yields rows of width {source.InputDim} but the {ModelName} reads {RowWidth}", field: "d_in");
        StepMemory.ThrowIfTooLarge(TrainConfig.BatchSize, RowWidth, LatentCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        var outputDirectory = Options.OutputDirectory;
        if (outputDirectory is not null)
            Directory.CreateDirectory(outputDirectory);
        if (!_initialized)
            Initialize(source);
        else
            source.Seek(_sourcePosition);

        var metricsLog = outputDirectory is null ? null : new MetricsLog(outputDirectory, _stepIndex);
        var tensorBoard = Options.TensorBoard && outputDirectory is not null
            ? new TensorBoardLog(Path.Combine(outputDirectory, "tensorboard")) : null;
        using var accumulator = new MetricsAccumulator(LatentCount, SourceCount);
        var step = TrainingStep;
        var clock = Stopwatch.StartNew();
        var config = TrainConfig;
        double peakRate = config.LearningRate ?? DefaultLearningRate;
        double sparsityTarget = config.SparsityCoefficient ?? DefaultSparsityCoefficient;
        int auxKLatents = config.ResolvedAuxKLatents(RowWidth);
        TrainMetrics? last = null;
        long lastCheckpointStep = _stepIndex;
        using var deadWindow = config.DeadWindowTokens.ToScalar();
        using var zero = 0L.ToScalar();
        using var one = 1L.ToScalar();

        while (_stepIndex < config.Steps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                if (outputDirectory is not null && _stepIndex > lastCheckpointStep)
                    SaveCheckpoint(source);
                cancellationToken.ThrowIfCancellationRequested();
            }
            double learningRate = LearningRateSchedule.At(_stepIndex, config.Steps, peakRate, config.ResolvedWarmupSteps, config.DecayStartFraction);
            using (NewDisposeScope())
            {
                long position = source.Position;
                var xBX = source.NextBatch(config.BatchSize);
                CheckBatch(source, xBX, position);
                var x = PrepareBatch(xBX);
                double sparsity = LearningRateSchedule.Ramp(_stepIndex, sparsityTarget, config.ResolvedSparsityWarmupSteps);
                var deadMaskL = _tokensSinceFiredL.ge(deadWindow);
                using var result = step.Step(x, new StepSettings(learningRate, sparsity, deadMaskL, config.AuxKCoefficient, auxKLatents));
                // Scalars handed to libtorch are held until the call returns: a temporary one can be finalised mid-call.
                using (var rows = xBX.shape[0].ToScalar())
                using (var fired = result.FiredCountsL.gt(zero))
                    _tokensSinceFiredL.add_(rows, one).masked_fill_(fired, zero);
                OnStep(result, _stepIndex);
                accumulator.Add(result, xBX.shape[0]);
            }
            _stepIndex++;
            _sourcePosition = source.Position;

            TrainMetrics? metrics = null;
            if (_stepIndex % config.LogEvery == 0 || _stepIndex == config.Steps)
            {
                metrics = accumulator.Flush(_stepIndex, _sourcePosition, learningRate, RowWidth, _tokensSinceFiredL, config, clock.Elapsed.TotalSeconds);
                if (!double.IsFinite(metrics.Loss))
                    throw new SaeSharpException($"loss became {metrics.Loss} by step {_stepIndex}; training stopped{KeptCheckpoint(outputDirectory, lastCheckpointStep)}. Lower the learning rate or check the activations.", outputDirectory, "loss");
                last = metrics;
                metricsLog?.Append(metrics);
                tensorBoard?.Write(metrics);
                Log.Metrics(_logger, metrics.Step, metrics.Loss, metrics.Fvu, metrics.L0, metrics.DeadFraction);
            }
            progress?.Report(new TrainProgress(_stepIndex, config.Steps, metrics));

            if (outputDirectory is not null && config.CheckpointEvery > 0 && _stepIndex % config.CheckpointEvery == 0 && _stepIndex < config.Steps)
            {
                SaveCheckpoint(source);
                lastCheckpointStep = _stepIndex;
            }
        }
        // A finished run that is resumed takes no step: it reports the record it finished with.
        last ??= metricsLog?.LastRecord()
            ?? accumulator.Flush(_stepIndex, _sourcePosition, 0, RowWidth, _tokensSinceFiredL, config, clock.Elapsed.TotalSeconds);
        if (outputDirectory is not null)
            SaveCheckpoint(source);
        return last;
    }

    /// <summary>What a stop leaves behind: the checkpoint written at <paramref name="step"/>, or nothing when none was.</summary>
    private static string KeptCheckpoint(string? directory, long step) =>
        directory is not null && File.Exists(Path.Combine(directory, TrainingState.FileName))
            ? $" and the last good checkpoint (step {step}) is kept"
            : " before any checkpoint was written, so there is nothing to resume";

    private void CheckBatch(IActivationSource source, Tensor xBX, long position)
    {
        if (xBX.dim() != 2 || xBX.shape[1] != RowWidth)
            throw new SaeSharpException($"the source returned a batch of shape [{string.Join(", ", xBX.shape)}], expected [B, {RowWidth}]", field: "activations");
        NonFiniteRows.ThrowIfAny(source, xBX, position, "training stopped before using it");
    }

    private void Initialize(IActivationSource source)
    {
        long start = source.Position;
        int rows = (int)Math.Min(TrainConfig.InitSampleRows, source.RowCount ?? long.MaxValue);
        using (NewDisposeScope())
        using (no_grad())
        {
            var sampleNX = source.NextBatch(rows);
            CheckBatch(source, sampleNX, start);
            InitializeFromSample(sampleNX);
        }
        source.Seek(start);
        _initialized = true;
    }

    /// <summary>Moves a BatchTopK threshold towards the step's smallest selected activation (set outright on the first step).</summary>
    protected static void UpdateThreshold(Tensor thresholdL, StepResult result, long stepIndex, double decay)
    {
        if (result.MinSelectedActivation is null) return;
        using var noGrad = no_grad();
        if (stepIndex == 0)
        {
            thresholdL.copy_(result.MinSelectedActivation.expand_as(thresholdL));
            return;
        }
        using var keep = decay.ToScalar();
        using var take = (1 - decay).ToScalar();
        thresholdL.mul_(keep).add_(result.MinSelectedActivation, alpha: take);
    }

    private void SaveCheckpoint(IActivationSource source)
    {
        var directory = Options.OutputDirectory!;
        var modelState = ModelState();
        foreach (var (name, tensor) in modelState)
        {
            using var finite = isfinite(tensor).all();
            if (!finite.item<bool>())
                throw new SaeSharpException($"{name} holds non-finite values at step {_stepIndex}; the last good checkpoint is kept", directory, "loss");
        }
        var tensors = new List<(string, Tensor)>(modelState);
        tensors.AddRange(TrainingStep.OptimizerState());
        tensors.Add((DeadCounterName, _tokensSinceFiredL));
        using var rng = torch.get_rng_state();
        tensors.Add(("rng.torch_cpu", rng));
        var metadata = new Dictionary<string, string>
        {
            ["format_version"] = StateFormatVersion.ToString(CultureInfo.InvariantCulture),
            ["step"] = _stepIndex.ToString(CultureInfo.InvariantCulture),
            ["source_position"] = source.Position.ToString(CultureInfo.InvariantCulture),
            ["train_config"] = JsonSerializer.Serialize(TrainConfig, SaeSharpJsonContext.Default.TrainConfig),
        };
        WriteStateMetadata(metadata);
        foreach (var (key, value) in Options.Metadata) metadata["run." + key] = value;
        // One unit: the model's files and the state are staged together and committed by one record (IO/CheckpointCommit).
        CheckpointCommit.Write(directory, _stepIndex, staging =>
        {
            WriteModel(staging, _stepIndex);
            TrainingState.Save(staging, tensors, metadata);
        });
        Log.Checkpoint(_logger, _stepIndex, directory);
    }

    /// <summary>Releases the step and the engine's tensors (not the model).</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the step and the engine's tensors; a subclass adds its own.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        _step?.Dispose();
        _tokensSinceFiredL.Dispose();
    }
}
