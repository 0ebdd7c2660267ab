namespace SaeSharp.Training;

/// <summary>
/// How to train a dictionary (an SAE or a crosscoder). Immutable; change with <c>with</c>. Every field has a
/// documented default; where the right default depends on the model, null picks the model's own.
/// </summary>
public sealed record TrainConfig
{
    /// <summary>Optimisation steps (default 1000).</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Rows per step (default 4096).</summary>
    public int BatchSize { get; init; } = 4096;

    /// <summary>Adam learning rate; null picks the model's default (SAE: sparsify's rule 2e-4 / √(L / 2¹⁴); crosscoder: 1e-3).</summary>
    public double? LearningRate { get; init; }

    /// <summary>Linear learning-rate warmup steps; null picks Steps / 20.</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>Fraction of the run after which the learning rate decays linearly to zero (default 0.8).</summary>
    public double DecayStartFraction { get; init; } = 0.8;

    /// <summary>L1 (ReLU SAE, L1 crosscoder) or L0 (JumpReLU) coefficient; null picks the model's default (ReLU 5, JumpReLU 1, L1 crosscoder 2 as in Kissane et al.). Unused by the TopK family.</summary>
    public double? SparsityCoefficient { get; init; }

    /// <summary>Steps over which the sparsity coefficient ramps linearly from 0; null picks Steps / 20.</summary>
    public int? SparsityWarmupSteps { get; init; }

    /// <summary>A latent that has not fired for this many tokens is dead (default 10M, as in sparsify).</summary>
    public long DeadWindowTokens { get; init; } = 10_000_000;

    /// <summary>Weight of the AuxK loss for the TopK family (default 1/32).</summary>
    public double AuxKCoefficient { get; init; } = 1.0 / 32;

    /// <summary>Dead latents AuxK decodes per row; null picks half the row width (D / 2; S·D / 2 for a crosscoder).</summary>
    public int? AuxKLatents { get; init; }

    /// <summary>Scale inputs so their mean norm is √D (default true; a crosscoder scales each source separately). An SAE folds the scale into its saved weights.</summary>
    public bool NormalizeActivations { get; init; } = true;

    /// <summary>Rows read at the start to estimate the scale and the b_dec initialisation (default 8192).</summary>
    public int InitSampleRows { get; init; } = 8192;

    /// <summary>A latent firing on more than this fraction of tokens counts as dense (default 0.1).</summary>
    public double DenseFrequency { get; init; } = 0.1;

    /// <summary>Seed of the initial weights (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Steps between metric records (default 100).</summary>
    public int LogEvery { get; init; } = 100;

    /// <summary>Steps between checkpoints when training to a folder; 0 writes one only at the end or on stop (default 1000).</summary>
    public int CheckpointEvery { get; init; } = 1000;

    /// <summary>Which training step to run (default <see cref="TrainingStepKind.Auto"/>).</summary>
    public TrainingStepKind StepKind { get; init; } = TrainingStepKind.Auto;

    /// <summary>Checks every field and its relation to the SAE.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it and the allowed range.</exception>
    public TrainConfig Validate(SaeConfig sae)
    {
        Validate();
        if (StepKind == TrainingStepKind.Fused && !sae.Architecture.IsTopKFamily)
            throw new SaeSharpException("the fused step serves the TopK family only (topk, batchtopk)", field: "step_kind");
        if (sae.Architecture is TopKArchitecture topK && topK.K > sae.LatentCount)
            throw new SaeSharpException($"k = {topK.K} exceeds the latent count {sae.LatentCount}", field: "k");
        return this;
    }

    /// <summary>Checks every field on its own (the model-independent checks of every run).</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it and the allowed range.</exception>
    public TrainConfig Validate()
    {
        Require(Steps >= 1, "steps", Steps, "at least 1");
        Require(BatchSize >= 1, "batch_size", BatchSize, "at least 1");
        Require(LearningRate is null || (LearningRate > 0 && double.IsFinite(LearningRate.Value)), "learning_rate", LearningRate, "positive");
        Require(WarmupSteps is null || WarmupSteps >= 0, "warmup_steps", WarmupSteps, "0 or more");
        Require(DecayStartFraction is >= 0 and <= 1, "decay_start_fraction", DecayStartFraction, "in [0, 1]");
        Require(SparsityCoefficient is null || (SparsityCoefficient >= 0 && double.IsFinite(SparsityCoefficient.Value)), "sparsity_coefficient", SparsityCoefficient, "0 or more");
        Require(SparsityWarmupSteps is null || SparsityWarmupSteps >= 0, "sparsity_warmup_steps", SparsityWarmupSteps, "0 or more");
        Require(DeadWindowTokens >= 1, "dead_window_tokens", DeadWindowTokens, "at least 1");
        Require(AuxKCoefficient >= 0 && double.IsFinite(AuxKCoefficient), "auxk_coefficient", AuxKCoefficient, "0 or more");
        Require(AuxKLatents is null || AuxKLatents is >= 1, "auxk_latents", AuxKLatents, "at least 1");
        Require(InitSampleRows >= 1, "init_sample_rows", InitSampleRows, "at least 1");
        Require(DenseFrequency is > 0 and <= 1, "dense_frequency", DenseFrequency, "in (0, 1]");
        Require(LogEvery >= 1, "log_every", LogEvery, "at least 1");
        Require(CheckpointEvery >= 0, "checkpoint_every", CheckpointEvery, "0 or more");
        Require(Enum.IsDefined(StepKind), "step_kind", StepKind, "auto, autograd or fused");
        return this;
    }

    internal int ResolvedWarmupSteps => WarmupSteps ?? Steps / 20;

    internal int ResolvedSparsityWarmupSteps => SparsityWarmupSteps ?? Steps / 20;

    internal int ResolvedAuxKLatents(int rowWidth) => AuxKLatents ?? Math.Max(1, rowWidth / 2);

    private static void Require(bool ok, string field, object? value, string range)
    {
        if (!ok)
            throw new SaeSharpException($"value {value ?? "null"} is out of range: must be {range}", field: field);
    }
}
