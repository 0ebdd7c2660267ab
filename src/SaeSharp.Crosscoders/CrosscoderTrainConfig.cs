using SaeSharp.Training;

namespace SaeSharp.Crosscoders;

/// <summary>How to train a crosscoder. Immutable; change with <c>with</c>. Every field has a documented default.</summary>
public sealed record CrosscoderTrainConfig
{
    /// <summary>Optimisation steps (default 1000).</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Rows (token positions, each with all S sources) per step (default 4096).</summary>
    public int BatchSize { get; init; } = 4096;

    /// <summary>Adam learning rate (default 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Linear learning-rate warmup steps; null picks Steps / 20.</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>Fraction of the run after which the learning rate decays linearly to zero (default 0.8).</summary>
    public double DecayStartFraction { get; init; } = 0.8;

    /// <summary>L1 crosscoder: coefficient λ of Σ_l f_l · Σ_s ‖d_l^s‖ (default 2, Kissane et al.'s value); unused by BatchTopK.</summary>
    public double L1Coefficient { get; init; } = 2.0;

    /// <summary>Steps over which λ ramps linearly from 0; null picks Steps / 20.</summary>
    public int? L1WarmupSteps { get; init; }

    /// <summary>A latent that has not fired for this many rows is dead (default 10M).</summary>
    public long DeadWindowTokens { get; init; } = 10_000_000;

    /// <summary>BatchTopK: weight of the AuxK loss on dead latents (default 1/32).</summary>
    public double AuxKCoefficient { get; init; } = 1.0 / 32;

    /// <summary>BatchTopK: dead latents AuxK decodes per row; null picks S·D / 2.</summary>
    public int? AuxKLatents { get; init; }

    /// <summary>Scale each source separately to mean norm √D (default true), so no source dominates the loss and decoder norms compare across sources.</summary>
    public bool NormalizeActivations { get; init; } = true;

    /// <summary>Rows read at the start to estimate the per-source scales (default 8192).</summary>
    public int InitSampleRows { get; init; } = 8192;

    /// <summary>Seed of the initial weights (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Steps between metric records (default 100).</summary>
    public int LogEvery { get; init; } = 100;

    /// <summary>Steps between checkpoints when training to a folder; 0 writes one only at the end or on stop (default 1000).</summary>
    public int CheckpointEvery { get; init; } = 1000;

    /// <summary>
    /// Which training step runs (default <see cref="TrainingStepKind.Auto"/>): Auto picks the fused sparse step for
    /// BatchTopK on the CPU in float32/float64 and the autograd step otherwise; Autograd forces the reference step;
    /// Fused demands the sparse step (the trainer refuses it for L1 or other devices). Both compute the same loss
    /// and write the same optimizer state, so a run may resume under either.
    /// </summary>
    public TrainingStepKind Step { get; init; } = TrainingStepKind.Auto;

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it and the allowed range.</exception>
    public CrosscoderTrainConfig Validate()
    {
        Require(Steps >= 1, "steps", Steps, "at least 1");
        Require(BatchSize >= 1, "batch_size", BatchSize, "at least 1");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), "learning_rate", LearningRate, "positive");
        Require(WarmupSteps is null || WarmupSteps >= 0, "warmup_steps", WarmupSteps, "0 or more");
        Require(DecayStartFraction is >= 0 and <= 1, "decay_start_fraction", DecayStartFraction, "in [0, 1]");
        Require(L1Coefficient >= 0 && double.IsFinite(L1Coefficient), "l1_coefficient", L1Coefficient, "0 or more");
        Require(L1WarmupSteps is null || L1WarmupSteps >= 0, "l1_warmup_steps", L1WarmupSteps, "0 or more");
        Require(DeadWindowTokens >= 1, "dead_window_tokens", DeadWindowTokens, "at least 1");
        Require(AuxKCoefficient >= 0 && double.IsFinite(AuxKCoefficient), "auxk_coefficient", AuxKCoefficient, "0 or more");
        Require(AuxKLatents is null || AuxKLatents >= 1, "auxk_latents", AuxKLatents, "at least 1");
        Require(InitSampleRows >= 1, "init_sample_rows", InitSampleRows, "at least 1");
        Require(LogEvery >= 1, "log_every", LogEvery, "at least 1");
        Require(CheckpointEvery >= 0, "checkpoint_every", CheckpointEvery, "0 or more");
        Require(Enum.IsDefined(Step), "step", Step, "Auto, Autograd or Fused");
        return this;
    }

    internal int ResolvedWarmupSteps => WarmupSteps ?? Steps / 20;

    internal int ResolvedL1WarmupSteps => L1WarmupSteps ?? Steps / 20;

    internal int ResolvedAuxKLatents(CrosscoderConfig config) => AuxKLatents ?? Math.Max(1, config.SourceCount * config.InputDim / 2);

    private static void Require(bool ok, string field, object? value, string range)
    {
        if (!ok)
            throw new SaeSharpException($"value {value ?? "null"} is out of range: must be {range}", field: field);
    }
}
