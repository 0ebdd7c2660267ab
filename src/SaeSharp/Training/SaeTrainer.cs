using System.Globalization;
using System.Text.Json;
using SaeSharp.Internals;
using SaeSharp.IO;
using SaeSharp.Training.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// Trains one SAE from an <see cref="IActivationSource"/> on the shared <see cref="DictionaryTrainer"/> engine:
/// inputs scaled to mean norm √D, b_dec initialised to the geometric median of a sample, the fused sparse step
/// for the TopK family and autograd otherwise, and SAELens-format checkpoints (the scale folded in) from which
/// <see cref="Resume"/> continues bit-identically.
/// </summary>
public sealed class SaeTrainer : DictionaryTrainer
{
    /// <summary>Prepares a new run; the SAE is created from <paramref name="saeConfig"/> with the run's seed.</summary>
    /// <exception cref="SaeSharpException">A config is invalid, or the output folder already holds an SAE and <see cref="TrainerOptions.Overwrite"/> is off.</exception>
    public SaeTrainer(SaeConfig saeConfig, TrainConfig trainConfig, TrainerOptions? options = null)
        : this(Sae.Create(saeConfig.Validate(), trainConfig.Validate(saeConfig).Seed), trainConfig, options ?? new TrainerOptions()) =>
        ThrowIfOutputHoldsRun();

    private SaeTrainer(Sae sae, TrainConfig trainConfig, TrainerOptions options)
        : base(trainConfig.Validate(sae.Config), options, sae.LatentCount, sae.InputDim)
    {
        Sae = sae;
        _ = TrainingStep; // a step kind that does not apply fails here, not at the first batch
    }

    /// <summary>The SAE being trained (weights act on inputs multiplied by <see cref="ActivationScale"/>).</summary>
    public Sae Sae { get; }

    /// <summary>The factor inputs are multiplied by (1 until estimated, or when normalisation is off).</summary>
    public double ActivationScale { get; private set; } = 1.0;

    /// <summary>Metadata recorded with the run (see <see cref="TrainerOptions.Metadata"/>).</summary>
    public IReadOnlyDictionary<string, string> Metadata => Options.Metadata;

    /// <summary>The metadata a run recorded (<see cref="TrainerOptions.Metadata"/>), read from its training state.</summary>
    /// <exception cref="SaeSharpException">The folder has no valid training state.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string directory)
    {
        using var state = TrainingState.Load(directory);
        return state.RunMetadata;
    }

    /// <summary>
    /// Reopens a run from its checkpoint folder. Train it with the same source (same settings); the source
    /// is moved to the saved cursor.
    /// </summary>
    /// <exception cref="SaeSharpException">The folder has no valid training state.</exception>
    public static SaeTrainer Resume(string directory, TrainerOptions? options = null)
    {
        using var state = TrainingState.Load(directory);
        var trainConfig = ReadTrainConfig(state);
        var saeConfig = state.RequiredJson("sae_config", SaeSharpJsonContext.Default.SaeConfig).Validate();
        var trainer = new SaeTrainer(Sae.Create(saeConfig, trainConfig.Validate(saeConfig).Seed), trainConfig, ResumeOptions(state, options));
        trainer.Restore(state);
        return trainer;
    }

    /// <summary>
    /// Runs the remaining steps on a background thread. On cancellation a checkpoint is written (when training
    /// to a folder) and <see cref="OperationCanceledException"/> is thrown; <see cref="Resume"/> continues it.
    /// </summary>
    /// <exception cref="SaeSharpException">The source's width differs from the SAE's, a batch holds non-finite values, or the loss diverged; the last good checkpoint is kept.</exception>
    public async Task<TrainResult> TrainAsync(IActivationSource source, IProgress<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var metrics = await RunAsync(source, progress, cancellationToken).ConfigureAwait(false);
        Sae.eval();
        return new TrainResult(Sae, ActivationScale, metrics, Options.OutputDirectory);
    }

    /// <inheritdoc />
    protected override string ModelName => "SAE";

    /// <inheritdoc />
    protected override string ModelConfigFileName => SaeCheckpoint.ConfigFileName;

    /// <summary>sparsify's rule, 2e-4 / √(L / 2¹⁴).</summary>
    protected override double DefaultLearningRate => 2e-4 / Math.Sqrt(Sae.LatentCount / 16384.0);

    /// <summary>5 for ReLU (L1), 1 for JumpReLU (L0), unused by the TopK family.</summary>
    protected override double DefaultSparsityCoefficient =>
        Sae.Config.Architecture switch { ReluArchitecture => 5.0, JumpReluArchitecture => 1.0, _ => 0.0 };

    /// <inheritdoc />
    protected override ITrainingStep CreateStep() => TrainConfig.StepKind switch
    {
        TrainingStepKind.Autograd => new AutogradTrainingStep(Sae),
        TrainingStepKind.Fused => new FusedTopKTrainingStep(Sae),
        _ when Sae.Config.Architecture.IsTopKFamily => new FusedTopKTrainingStep(Sae),
        _ => new AutogradTrainingStep(Sae),
    };

    /// <inheritdoc />
    protected override IReadOnlyList<(string Name, Tensor Tensor)> ModelState()
    {
        var tensors = Sae.TrainableParameters.Select(p => ($"param.{p.Name}", (Tensor)p.Parameter)).ToList();
        if (Sae is BatchTopKSae batch) tensors.Add(("buffer.threshold", batch.ThresholdL));
        return tensors;
    }

    /// <summary>Scale to mean norm √D and b_dec at the geometric median of the sample.</summary>
    protected override void InitializeFromSample(Tensor sampleNX)
    {
        var sampleND = sampleNX.to(ScalarType.Float64);
        if (TrainConfig.NormalizeActivations)
        {
            double meanNorm = sampleND.norm(1).mean().item<double>();
            if (!(meanNorm > 0))
                throw new SaeSharpException("the activation sample has zero mean norm; cannot normalise (turn NormalizeActivations off or check the data)", field: "activations");
            ActivationScale = Math.Sqrt(Sae.InputDim) / meanNorm;
        }
        using var scale = ActivationScale.ToScalar();
        Sae.DecoderBiasD.copy_(GeometricMedian.Compute(sampleND.mul(scale)));
    }

    /// <inheritdoc />
    protected override Tensor PrepareBatch(Tensor xBX)
    {
        if (ActivationScale == 1.0) return xBX;
        // Held until mul returns: an implicitly made Scalar can be freed by a GC while libtorch reads it (docs/design.md).
        using var scale = ActivationScale.ToScalar();
        return xBX.mul(scale);
    }

    /// <inheritdoc />
    protected override void OnStep(StepResult result, long stepIndex)
    {
        if (Sae is BatchTopKSae batchTopK)
            UpdateThreshold(batchTopK.ThresholdL, result, stepIndex, ((BatchTopKArchitecture)Sae.Config.Architecture).ThresholdDecay);
    }

    /// <inheritdoc />
    protected override void WriteModel(string directory, long step)
    {
        var metadata = Options.Metadata.ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
        metadata["saesharp_step"] = step;
        SaeCheckpoint.Save(Sae, directory, ActivationScale, metadata);
    }

    /// <inheritdoc />
    protected override void WriteStateMetadata(IDictionary<string, string> metadata)
    {
        metadata["activation_scale"] = ActivationScale.ToString("R", CultureInfo.InvariantCulture);
        metadata["sae_config"] = JsonSerializer.Serialize(Sae.Config, SaeSharpJsonContext.Default.SaeConfig);
    }

    /// <inheritdoc />
    protected override void RestoreStateMetadata(TrainingState state) => ActivationScale = state.RequiredDouble("activation_scale");
}
