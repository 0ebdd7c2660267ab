using SaeSharp.Training;
using SaeSharp.Crosscoders;
using SaeSharp.Testbeds.ModularAddition;

namespace SaeSharp.Testbeds.Demos;

/// <summary>Settings of <see cref="CrosscoderDemo.Run"/>. Immutable; change with <c>with</c>. Every field has a documented default.</summary>
public sealed record CrosscoderDemoOptions
{
    /// <summary>The modulus of the modular-addition hosts (default 113).</summary>
    public int P { get; init; } = 113;

    /// <summary>Seed of host A (default 0); also the teacher of the distilled student.</summary>
    public long SeedA { get; init; }

    /// <summary>Seed of host B (default 1); a different seed gives a different set of key frequencies.</summary>
    public long SeedB { get; init; } = 1;

    /// <summary>MLP width of the distilled student (default 256, half the teacher's 512).</summary>
    public int StudentMlpDim { get; init; } = 256;

    /// <summary>
    /// Full-batch distillation steps of the student (default 1500: the student then gives the teacher's answer on all
    /// p² inputs; after 600 steps it agreed on 62%). About 2.5 minutes on 2 cores, cached afterwards.
    /// </summary>
    public int StudentSteps { get; init; } = 1500;

    /// <summary>
    /// The hook every host is read at, at the <c>=</c> position (default <c>resid_mid.0</c>: between attention and MLP,
    /// where the stream holds the waves of a and b one frequency per plane; see <see cref="CrosscoderDemo"/>).
    /// </summary>
    public string Hook { get; init; } = "resid_mid.0";

    /// <summary>Crosscoder dictionary size (default 256).</summary>
    public int LatentCount { get; init; } = 256;

    /// <summary>BatchTopK crosscoder: mean active latents per row (default 8).</summary>
    public int K { get; init; } = 8;

    /// <summary>L1 crosscoder: coefficient of the decoder-norm-weighted L1 penalty (default 0.3, for inputs scaled to mean norm √D: the library default 2 left 3 live latents and FVU 0.93 here, 0.1 left 86 latents active per row; see docs/crosscoder-demo-results.md).</summary>
    public double L1Coefficient { get; init; } = 0.3;

    /// <summary>Training steps of each crosscoder (default 2000: at 1000 the L1 rule had not yet separated the decoders).</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Rows per crosscoder step (default 512).</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Adam learning rate of the crosscoders (default 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>
    /// A live latent is frequency-dominated when one frequency holds at least this share of the variance of its encoder
    /// pre-activation over the p×p grid of (a, b) (default 0.5: that frequency outweighs all others together).
    /// </summary>
    public double DominanceThreshold { get; init; } = 0.5;

    /// <summary>Also diff the teacher (host A) against its distilled student (default true).</summary>
    public bool IncludeStudent { get; init; } = true;

    /// <summary>
    /// Folder of the cached hosts, one entry per host (<see cref="ModAddCache.EntryFolder"/>); the distilled student is
    /// cached beside its teacher. Required: the library picks no default location.
    /// </summary>
    public required string CacheFolder { get; init; }

    /// <summary>Seed of the crosscoders and the shuffling (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public CrosscoderDemoOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(CacheFolder)) throw new SaeSharpException("is empty; pass the folder that holds cached hosts", field: "cache_folder");
        if (SeedA == SeedB) throw new SaeSharpException($"seed_b equals seed_a ({SeedA}); the two hosts need different seeds", field: "seed_b");
        if (string.IsNullOrWhiteSpace(Hook)) throw new SaeSharpException("is empty; name a hook point such as resid_mid.0", field: "hook");
        if (StudentMlpDim < 1) throw new SaeSharpException($"is {StudentMlpDim}; must be at least 1", field: "student_mlp_dim");
        if (StudentSteps < 1) throw new SaeSharpException($"is {StudentSteps}; must be at least 1", field: "student_steps");
        if (!(DominanceThreshold > 0 && DominanceThreshold <= 1)) throw new SaeSharpException($"is {DominanceThreshold}; must be in (0, 1]", field: "dominance_threshold");
        new CrosscoderConfig { InputDim = 1, LatentCount = LatentCount, K = K }.Validate();
        new TrainConfig { Steps = Steps, BatchSize = BatchSize, LearningRate = LearningRate, SparsityCoefficient = L1Coefficient }.Validate();
        return this;
    }
}
