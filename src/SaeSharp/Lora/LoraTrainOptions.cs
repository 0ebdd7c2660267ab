namespace SaeSharp.Lora;

/// <summary>How <see cref="LoraTrainer"/> trains adapters around a frozen, spliced SAE.</summary>
public sealed record LoraTrainOptions
{
    /// <summary>Optimizer steps. Default 400.</summary>
    public int Steps { get; init; } = 400;

    /// <summary>Sequences per step. Default 16.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>AdamW learning rate, constant. Default 1e-3 (a small host needs more than the paper's 5e-5 on Gemma).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>AdamW decoupled weight decay on A and B. Default 0.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Global gradient-norm clip. Default 1 (the paper's).</summary>
    public double ClipNorm { get; init; } = 1.0;

    /// <summary>Share of the training sequences held out for validation KL, in [0, 0.5]. Default 0.1.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Leading positions the SAE leaves untouched (a BOS token's). Default 0.</summary>
    public int UntouchedPositions { get; init; }

    /// <summary>Steps between metrics lines and progress reports. Default 10.</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Steps between validation passes (and at the end). Default 100.</summary>
    public int EvalEvery { get; init; } = 100;

    /// <summary>Steps between checkpoints when training into a folder (and at the end). Default 100.</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Seed of the adapters' A, the batch order and dropout. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Checks every field; returns this.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it.</exception>
    public LoraTrainOptions Validate()
    {
        if (Steps < 1) throw new SaeSharpException($"is {Steps}; must be at least 1", field: "steps");
        if (BatchSize < 1) throw new SaeSharpException($"is {BatchSize}; must be at least 1", field: "batch_size");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new SaeSharpException($"is {LearningRate}; must be positive", field: "learning_rate");
        if (!(WeightDecay >= 0)) throw new SaeSharpException($"is {WeightDecay}; must be at least 0", field: "weight_decay");
        if (!(ClipNorm > 0)) throw new SaeSharpException($"is {ClipNorm}; must be positive", field: "clip_norm");
        if (!(ValidationFraction >= 0 && ValidationFraction <= 0.5)) throw new SaeSharpException($"is {ValidationFraction}; must be in [0, 0.5]", field: "validation_fraction");
        if (UntouchedPositions < 0) throw new SaeSharpException($"is {UntouchedPositions}; must be at least 0", field: "untouched_positions");
        if (LogEvery < 1) throw new SaeSharpException($"is {LogEvery}; must be at least 1", field: "log_every");
        if (EvalEvery < 1) throw new SaeSharpException($"is {EvalEvery}; must be at least 1", field: "eval_every");
        if (CheckpointEvery < 1) throw new SaeSharpException($"is {CheckpointEvery}; must be at least 1", field: "checkpoint_every");
        return this;
    }
}
