using System.Globalization;
using System.Text.Json;
using SaeSharp.Crosscoders.Internals;
using SaeSharp.Training;
using SaeSharp.Training.Fused;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders;

/// <summary>
/// Trains a crosscoder from a paired source, rows <c>[B, S·D]</c> holding the S sources of one token position side
/// by side (see <see cref="PairedActivationSource"/>), on the shared <see cref="DictionaryTrainer"/> engine: each
/// source scaled separately to mean norm √D, b_dec at the per-source mean, the fused sparse step for BatchTopK on
/// the CPU and autograd otherwise, per-source FVU in the metrics, and checkpoints from which <see cref="Resume"/>
/// continues bit-identically.
/// </summary>
public sealed class CrosscoderTrainer : DictionaryTrainer
{
    private double[] _scales;

    /// <summary>Prepares a new run; the crosscoder is created from <paramref name="config"/> with the run's seed.</summary>
    /// <exception cref="SaeSharpException">A config is invalid, or the output folder holds a crosscoder and <see cref="TrainerOptions.Overwrite"/> is off.</exception>
    public CrosscoderTrainer(CrosscoderConfig config, TrainConfig trainConfig, TrainerOptions? options = null)
        : this(Crosscoder.Create(config.Validate(), trainConfig.Validate().Seed), trainConfig, options ?? new TrainerOptions()) =>
        ThrowIfOutputHoldsRun();

    private CrosscoderTrainer(Crosscoder crosscoder, TrainConfig trainConfig, TrainerOptions options)
        : base(trainConfig, options, crosscoder.LatentCount, crosscoder.SourceCount * crosscoder.InputDim, crosscoder.SourceCount)
    {
        Crosscoder = crosscoder;
        _scales = Enumerable.Repeat(1.0, crosscoder.SourceCount).ToArray();
        _ = TrainingStep; // a step kind that does not apply fails here, not at the first batch
    }

    /// <summary>The crosscoder being trained (weights act on inputs multiplied by <see cref="SourceScales"/>).</summary>
    public Crosscoder Crosscoder { get; }

    /// <summary>Per-source input factors (ones until estimated, or when normalisation is off).</summary>
    public IReadOnlyList<double> SourceScales => _scales;

    /// <summary>Reopens a run from its folder; train it with the same source, which is moved to the saved cursor.</summary>
    /// <exception cref="SaeSharpException">The folder has no valid crosscoder training state.</exception>
    public static CrosscoderTrainer Resume(string directory, TrainerOptions? options = null)
    {
        using var state = TrainingState.Load(directory);
        if (state.Required("kind") != "crosscoder")
            throw new SaeSharpException("is not a crosscoder's training state", state.Path, "kind");
        var trainConfig = ReadTrainConfig(state).Validate();
        var config = CrosscoderJson.ReadConfig(state.Required("crosscoder_config"), state.Path, "crosscoder_config").Validate();
        var trainer = new CrosscoderTrainer(Crosscoder.CreateEmpty(config), trainConfig, ResumeOptions(state, options));
        trainer.Restore(state);
        return trainer;
    }

    /// <summary>
    /// Runs the remaining steps on a background thread. On cancellation a checkpoint is written (when training to a
    /// folder) and <see cref="OperationCanceledException"/> is thrown; <see cref="Resume"/> continues it.
    /// </summary>
    /// <param name="source">Paired rows <c>[B, S·D]</c>.</param>
    /// <param name="progress">Receives every step, with metrics at log intervals.</param>
    /// <param name="cancellationToken">Stops the run after the current step.</param>
    /// <exception cref="SaeSharpException">The source's width is not S·D, a batch holds non-finite values, or the loss diverged.</exception>
    public async Task<CrosscoderTrainResult> TrainAsync(IActivationSource source, IProgress<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var metrics = await RunAsync(source, progress, cancellationToken).ConfigureAwait(false);
        Crosscoder.eval();
        return new CrosscoderTrainResult(Crosscoder, _scales.ToArray(), metrics, Options.OutputDirectory);
    }

    /// <inheritdoc />
    protected override string ModelName => "crosscoder";

    /// <inheritdoc />
    protected override string ModelConfigFileName => CrosscoderCheckpoint.ConfigFileName;

    /// <summary>1e-3.</summary>
    protected override double DefaultLearningRate => 1e-3;

    /// <summary>λ = 2 for the L1 rule (Kissane et al.'s value); unused by BatchTopK.</summary>
    protected override double DefaultSparsityCoefficient => Crosscoder.Config.Sparsity == CrosscoderSparsity.L1 ? 2.0 : 0.0;

    /// <summary>
    /// Auto takes the fused sparse step wherever it applies (BatchTopK, CPU, float32/float64). L1 always trains with
    /// autograd: its ReLU code is dense (early in training about half the latents fire on every row), so there is no
    /// sparsity for a hand-written backward to exploit, and libtorch's dense products are already the fastest way.
    /// </summary>
    /// <exception cref="SaeSharpException">Fused was demanded where it does not apply.</exception>
    protected override ITrainingStep CreateStep()
    {
        bool batchTopK = Crosscoder.Config.Sparsity == CrosscoderSparsity.BatchTopK;
        if (TrainConfig.StepKind == TrainingStepKind.Fused && !batchTopK)
            throw new SaeSharpException($"the fused step serves the BatchTopK rule only, not {Crosscoder.Config.Sparsity}; use the autograd step", field: "step_kind");
        return TrainConfig.StepKind switch
        {
            TrainingStepKind.Autograd => new AutogradCrosscoderStep(Crosscoder),
            TrainingStepKind.Fused => FusedStep(),
            _ => batchTopK && FusedCrosscoderStep.Supports(Crosscoder.EncoderWeightSDL) ? FusedStep() : new AutogradCrosscoderStep(Crosscoder),
        };

        FusedCrosscoderStep FusedStep() => new(Crosscoder.TrainableParameters, Crosscoder.Config.K);
    }

    /// <inheritdoc />
    protected override IReadOnlyList<(string Name, Tensor Tensor)> ModelState() =>
        [.. Crosscoder.TrainableParameters.Select(p => ($"param.{p.Name}", (Tensor)p.Parameter)), ("buffer.threshold", Crosscoder.ThresholdL)];

    /// <summary>Per-source scales to mean norm √D; b_dec at the per-source mean.</summary>
    protected override void InitializeFromSample(Tensor sampleNX)
    {
        int s = Crosscoder.SourceCount, d = Crosscoder.InputDim;
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
        Crosscoder.DecoderBiasSD.copy_(sampleNSD.mean([0]).mul(tensor(_scales).view(s, 1)));
    }

    /// <summary>Rows <c>[B, S·D]</c> to <c>[B, S, D]</c>, each source multiplied by its scale.</summary>
    protected override Tensor PrepareBatch(Tensor xBX)
    {
        var scalesS11 = tensor(_scales.Select(v => (float)v).ToArray()).view(1, Crosscoder.SourceCount, 1);
        return xBX.view(xBX.shape[0], Crosscoder.SourceCount, Crosscoder.InputDim).mul(scalesS11);
    }

    /// <inheritdoc />
    protected override void OnStep(StepResult result, long stepIndex)
    {
        if (Crosscoder.Config.Sparsity == CrosscoderSparsity.BatchTopK)
            UpdateThreshold(Crosscoder.ThresholdL, result, stepIndex, Crosscoder.Config.ThresholdDecay);
    }

    /// <inheritdoc />
    protected override void WriteModel(string directory, long step) => CrosscoderCheckpoint.Save(Crosscoder, directory, _scales, step);

    /// <inheritdoc />
    protected override void WriteStateMetadata(IDictionary<string, string> metadata)
    {
        var inv = CultureInfo.InvariantCulture;
        metadata["kind"] = "crosscoder";
        metadata["source_scales"] = string.Join(",", _scales.Select(v => v.ToString("R", inv)));
        metadata["crosscoder_config"] = JsonSerializer.Serialize(Crosscoder.Config, CrosscoderJsonContext.Default.CrosscoderConfig);
    }

    /// <inheritdoc />
    protected override void RestoreStateMetadata(TrainingState state)
    {
        var scales = state.Required("source_scales").Split(',');
        if (scales.Length != Crosscoder.SourceCount)
            throw new SaeSharpException($"holds {scales.Length} scales for {Crosscoder.SourceCount} sources", state.Path, "source_scales");
        _scales = scales.Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0 && double.IsFinite(x)
            ? x : throw new SaeSharpException($"'{v}' is not a positive number", state.Path, "source_scales")).ToArray();
    }
}
