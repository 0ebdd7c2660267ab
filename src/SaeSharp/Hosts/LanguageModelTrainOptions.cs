namespace SaeSharp.Hosts;

/// <summary>
/// How <see cref="LanguageModelTrainer"/> trains a <see cref="HostTransformer"/> on token sequences. Immutable; change
/// with <c>with</c>. The defaults are the story host's (a 4-layer, width-128 GPT-Neo on a few hundred thousand tokens).
/// </summary>
public sealed record LanguageModelTrainOptions
{
    /// <summary>Optimiser steps (default 1000): the progress total.</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Sequences per step (default 16); each is right-padded to the batch's longest and its padding carries no loss.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>AdamW peak learning rate (default 3e-3, after warmup).</summary>
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>Linear warmup steps from 0 to the peak (default 50).</summary>
    public int WarmupSteps { get; init; } = 50;

    /// <summary>The rate the cosine decay ends at, as a fraction of the peak (default 0.1).</summary>
    public double FinalLearningRateFraction { get; init; } = 0.1;

    /// <summary>AdamW decoupled weight decay (default 0.01).</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>AdamW β1 (default 0.9).</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β2 (default 0.99).</summary>
    public double Beta2 { get; init; } = 0.99;

    /// <summary>Largest global gradient L2 norm; larger gradients are scaled down to it (default 1; 0 turns clipping off).</summary>
    public double GradientClipNorm { get; init; } = 1.0;

    /// <summary>Seed of the batch order (default 0); the model's initial weights come from its own seed.</summary>
    public long Seed { get; init; }

    /// <summary>Steps between progress reports (default 10); the loss is read from the tensor only then.</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it, its value and the allowed range.</exception>
    public LanguageModelTrainOptions Validate()
    {
        if (Steps < 1) throw new SaeSharpException($"is {Steps}; must be at least 1", field: nameof(Steps));
        if (BatchSize < 1) throw new SaeSharpException($"is {BatchSize}; must be at least 1", field: nameof(BatchSize));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new SaeSharpException($"is {LearningRate}; must be positive and finite", field: nameof(LearningRate));
        if (WarmupSteps < 0) throw new SaeSharpException($"is {WarmupSteps}; must be ≥ 0", field: nameof(WarmupSteps));
        if (!(FinalLearningRateFraction >= 0 && FinalLearningRateFraction <= 1))
            throw new SaeSharpException($"is {FinalLearningRateFraction}; must lie in [0, 1]", field: nameof(FinalLearningRateFraction));
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new SaeSharpException($"is {WeightDecay}; must be non-negative and finite", field: nameof(WeightDecay));
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new SaeSharpException($"is {Beta1}; must lie in [0, 1)", field: nameof(Beta1));
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new SaeSharpException($"is {Beta2}; must lie in [0, 1)", field: nameof(Beta2));
        if (!(GradientClipNorm >= 0) || double.IsInfinity(GradientClipNorm))
            throw new SaeSharpException($"is {GradientClipNorm}; must be non-negative and finite (0 = no clipping)", field: nameof(GradientClipNorm));
        if (LogEvery < 1) throw new SaeSharpException($"is {LogEvery}; must be at least 1", field: nameof(LogEvery));
        return this;
    }

    /// <summary>The learning rate at 0-based <paramref name="step"/>: linear warmup, then cosine decay to the final fraction at the last step.</summary>
    public double LearningRateAt(int step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return LearningRate * (step + 1) / WarmupSteps;
        int decaySteps = Math.Max(Steps - WarmupSteps - 1, 1);
        double progress = Math.Clamp((step - WarmupSteps) / (double)decaySteps, 0, 1);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return LearningRate * (FinalLearningRateFraction + (1 - FinalLearningRateFraction) * cosine);
    }
}
