using System.Text.Json.Serialization;
using SaeSharp.Hosts;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// The modular-addition task and its training run (Nanda et al. 2023, "Progress measures for grokking"):
/// all p² pairs (a, b) as inputs <c>a b =</c> with answer (a + b) mod p, a seeded split, full-batch AdamW.
/// </summary>
/// <param name="P">The prime modulus p (≥ 3); tokens 0..p−1 are numbers, token p is <c>=</c>.</param>
/// <param name="Seed">Seeds the train/test split and the initial weights.</param>
/// <param name="TrainFraction">
/// Share of the p² pairs used for training, in (0, 1). The default is 0.5, not the paper's 0.3: measured here
/// (p = 113, seed 0), 0.3 memorises by step 150 but is still at 5% test accuracy at step 500 (the paper groks near
/// step 10k; a step here costs about 0.1 s of one core, so that run would exceed 10 minutes on 2 cores), 0.4 reaches
/// 52% by step 600, while 0.5 passes 99% test accuracy at step 590 and meets the stop rule at step 1830
/// (230 s of one core). Pass 0.3 to reproduce the paper's slower run.
/// </param>
/// <param name="LearningRate">AdamW learning rate after warmup.</param>
/// <param name="WeightDecay">AdamW decoupled weight decay (1.0 drives grokking).</param>
/// <param name="Beta1">AdamW β1.</param>
/// <param name="Beta2">AdamW β2.</param>
/// <param name="WarmupSteps">Linear learning-rate warmup length (step s uses lr·min((s+1)/WarmupSteps, 1)); 0 for none.</param>
/// <param name="MaxSteps">Hard limit on optimiser steps.</param>
/// <param name="EvalInterval">Steps between evaluations on the test pairs (and log entries).</param>
/// <param name="StopTestAccuracy">Training stops once test accuracy exceeds this ...</param>
/// <param name="StopAfterEvals">... for this many consecutive evaluations ...</param>
/// <param name="StopKeyFrequencyFraction">... and the embedding's key frequencies (at most 8) explain at least this
/// share of its squared norm: weight decay has cleaned up what memorisation left (0 to stop on accuracy alone).</param>
/// <param name="SnapshotInterval">Steps between weight snapshots for the progress measures (restricted/excluded loss); 0 for none.</param>
/// <param name="Loss">The training loss: cross-entropy (default) or the harmonic loss. Left out of the JSON when it is the
/// default, so that cross-entropy hosts keep their cache entries and checkpoints.</param>
/// <param name="HarmonicExponent">The harmonic loss's exponent n (p_i ∝ d_i^(−n)); null for the model width D, the choice
/// of the harmonic-loss paper's toy runs. Only with <see cref="ModAddLoss.Harmonic"/>.</param>
public sealed record ModAddConfig(
    int P = 113,
    long Seed = 0,
    double TrainFraction = 0.5,
    double LearningRate = 1e-3,
    double WeightDecay = 1.0,
    double Beta1 = 0.9,
    double Beta2 = 0.98,
    int WarmupSteps = 10,
    int MaxSteps = 40_000,
    int EvalInterval = 10,
    double StopTestAccuracy = 0.999,
    int StopAfterEvals = 10,
    double StopKeyFrequencyFraction = 0.9,
    int SnapshotInterval = 500,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] ModAddLoss Loss = ModAddLoss.CrossEntropy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? HarmonicExponent = null)
{
    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it, its value and the allowed range.</exception>
    public ModAddConfig Validate()
    {
        if (P < 3 || P > 1000 || !IsPrime(P))
            throw new SaeSharpException($"is {P}; must be a prime in [3, 1000]", field: nameof(P));
        if (!(TrainFraction > 0 && TrainFraction < 1))
            throw new SaeSharpException($"is {TrainFraction}; must lie in (0, 1)", field: nameof(TrainFraction));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new SaeSharpException($"is {LearningRate}; must be positive and finite", field: nameof(LearningRate));
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new SaeSharpException($"is {WeightDecay}; must be non-negative and finite", field: nameof(WeightDecay));
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new SaeSharpException($"is {Beta1}; must lie in [0, 1)", field: nameof(Beta1));
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new SaeSharpException($"is {Beta2}; must lie in [0, 1)", field: nameof(Beta2));
        if (WarmupSteps < 0) throw new SaeSharpException($"is {WarmupSteps}; must be ≥ 0", field: nameof(WarmupSteps));
        if (MaxSteps < 1) throw new SaeSharpException($"is {MaxSteps}; must be ≥ 1", field: nameof(MaxSteps));
        if (EvalInterval < 1) throw new SaeSharpException($"is {EvalInterval}; must be ≥ 1", field: nameof(EvalInterval));
        if (!(StopTestAccuracy > 0 && StopTestAccuracy <= 1))
            throw new SaeSharpException($"is {StopTestAccuracy}; must lie in (0, 1]", field: nameof(StopTestAccuracy));
        if (StopAfterEvals < 1) throw new SaeSharpException($"is {StopAfterEvals}; must be ≥ 1", field: nameof(StopAfterEvals));
        if (!(StopKeyFrequencyFraction >= 0 && StopKeyFrequencyFraction <= 1))
            throw new SaeSharpException($"is {StopKeyFrequencyFraction}; must lie in [0, 1]", field: nameof(StopKeyFrequencyFraction));
        if (SnapshotInterval < 0) throw new SaeSharpException($"is {SnapshotInterval}; must be ≥ 0", field: nameof(SnapshotInterval));
        if (!Enum.IsDefined(Loss))
            throw new SaeSharpException($"is {(int)Loss}; must be one of {string.Join(", ", Enum.GetNames<ModAddLoss>())}", field: nameof(Loss));
        if (HarmonicExponent is { } n && (Loss != ModAddLoss.Harmonic || !(n > 0) || double.IsInfinity(n)))
            throw new SaeSharpException($"is {n}; must be positive and finite, and set only with the harmonic loss", field: nameof(HarmonicExponent));
        return this;
    }

    /// <summary>The host architecture this task trains (<see cref="HostConfig.ModularAddition"/> of <see cref="P"/>).</summary>
    public HostConfig Host => HostConfig.ModularAddition(P);

    /// <summary>The harmonic exponent n in effect: <see cref="HarmonicExponent"/>, or the model width D when it is null.</summary>
    /// <remarks>A method, not a property, so that it stays out of the JSON (and the cache key).</remarks>
    public double HarmonicExponentInEffect() => HarmonicExponent ?? Host.ModelDim;

    private static bool IsPrime(int n)
    {
        for (int d = 2; d * d <= n; d++) if (n % d == 0) return false;
        return n >= 2;
    }
}
