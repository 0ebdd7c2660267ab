using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Demos;

/// <summary>Settings of <see cref="StoryCrosscoderDemo.Run"/>. Immutable; change with <c>with</c>.</summary>
public sealed record StoryCrosscoderDemoOptions
{
    /// <summary>Where the demo writes (required): <c>stories.json</c>, <c>store-base/</c>, <c>store-distilled/</c> and <c>dashboard.html</c> in it are replaced.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Folder of the cached hosts (the base host and the pair are cached there). Required: the library picks no default location.</summary>
    public required string CacheFolder { get; init; }

    /// <summary>
    /// A small variant for tests (default false): a weak base host, teacher and distilled model trained in seconds (their
    /// own cache entries), few stories, few crosscoder steps. Its numbers show that the pipeline runs, nothing more.
    /// </summary>
    public bool Quick { get; init; }

    /// <summary>Seed of the generated stories harvested for the crosscoders (default 3000: neither the base's nor the teacher's corpus).</summary>
    public ulong HarvestSeed { get; init; } = 3000;

    /// <summary>The block whose output (<c>resid_post.{Layer}</c>) both models are read at (default 2, the story demo's).</summary>
    public int Layer { get; init; } = 2;

    /// <summary>Crosscoder dictionary size (default 512, four times the story host's width).</summary>
    public int LatentCount { get; init; } = 512;

    /// <summary>BatchTopK: mean active latents per row (default 16).</summary>
    public int K { get; init; } = 16;

    /// <summary>L1 crosscoder: coefficient of the decoder-norm-weighted L1 penalty (default 1).</summary>
    public double L1Coefficient { get; init; } = 1.0;

    /// <summary>Steering: multiples of the latent's largest activation on the harvested rows added along its distilled decoder direction (default −2, −1, 0, 1, 2; 0 must give the unsteered rate).</summary>
    public IReadOnlyList<double> SteeringAlphas { get; init; } = [-2, -1, 0, 1, 2];

    /// <summary>
    /// Fine-tuning steps of the teacher and of the distilled model when not <see cref="Quick"/> (default null: the
    /// recipe's). Fewer build a weaker pair sooner, in its own cache entry.
    /// </summary>
    public int? PairSteps { get; init; }

    /// <summary>Stories sampled from the teacher for the distilled model when not <see cref="Quick"/> (default null: the recipe's).</summary>
    public int? DistillationSamples { get; init; }

    /// <summary>Training steps of each crosscoder (default null: 1200, or 100 when <see cref="Quick"/>).</summary>
    public int? CrosscoderSteps { get; init; }

    /// <summary>Seed of the crosscoders, the row order, the permutation of the diagnostic and the steering samples (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>
    /// The pair's recipe: <see cref="StoryPairOptions"/>' defaults, or with <see cref="Quick"/> a base of width 32 and 3
    /// blocks trained 30 steps on 300 stories, a teacher of 40 steps on 400 stories with reflections and a distilled
    /// model of 40 steps on 48 samples of at most 48 tokens.
    /// </summary>
    public StoryPairOptions Pair
    {
        get
        {
            var pair = new StoryPairOptions();
            if (!Quick)
            {
                if (PairSteps is { } steps)
                    pair = pair with { TeacherTraining = pair.TeacherTraining with { Steps = steps }, DistillationTraining = pair.DistillationTraining with { Steps = steps } };
                return DistillationSamples is { } samples ? pair with { DistillationSamples = samples } : pair;
            }
            var baseRecipe = new StoryHostOptions
            {
                TrainStories = 300, HeldOutStories = 30, ConsistencyPrompts = 30, Layers = 3, ModelDim = 32, Heads = 2, Window = 8,
                Training = new() { Steps = 30, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 5 },
            };
            return pair with
            {
                Base = baseRecipe, TeacherStories = 400, DistillationSamples = 48, SampleMaxLength = 48,
                TeacherTraining = pair.TeacherTraining with { Steps = 40, BatchSize = 8, WarmupSteps = 5, LearningRate = 3e-3 },
                DistillationTraining = pair.DistillationTraining with { Steps = 40, BatchSize = 8, WarmupSteps = 5, LearningRate = 3e-3 },
            };
        }
    }

    /// <summary>Stories harvested from both models (600, about 55k tokens; 24 when <see cref="Quick"/>).</summary>
    public int HarvestStories => Quick ? 24 : 600;

    /// <summary>Training steps of each crosscoder: <see cref="CrosscoderSteps"/>, else 1200 of 1024 rows (about 22 passes), 100 when <see cref="Quick"/>.</summary>
    public int Steps => CrosscoderSteps ?? (Quick ? 100 : 1200);

    /// <summary>Rows per crosscoder step (1024; 256 when <see cref="Quick"/>).</summary>
    public int BatchSize => Quick ? 256 : 1024;

    /// <summary>Stories sampled from the distilled model at each α (32; 8 when <see cref="Quick"/>).</summary>
    public int SteeringSamples => Quick ? 8 : 32;

    /// <summary>Longest steered sample in tokens, prompt included (200; 48 when <see cref="Quick"/>).</summary>
    public int SteeringMaxLength => Quick ? 48 : 200;

    /// <summary>Diagnostic: a distilled-only latent "matches a label" when it is some label's best latent with at least this F1 (0.5).</summary>
    public double LabelMatchF1 => 0.5;

    /// <summary>The hook both models are read at.</summary>
    public string Hook => $"resid_post.{Layer}";

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public StoryCrosscoderDemoOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory)) throw new SaeSharpException("is empty; pass the folder the demo writes to", field: "output_directory");
        if (string.IsNullOrWhiteSpace(CacheFolder)) throw new SaeSharpException("is empty; pass the folder that holds cached hosts", field: "cache_folder");
        var pair = Pair.Validate();
        if (HarvestSeed == pair.Base.Seed || HarvestSeed == pair.CorpusSeed)
            throw new SaeSharpException($"is {HarvestSeed}, the seed of a training corpus; the harvested stories must be new to both models", field: "harvest_seed");
        if (Layer < 0 || Layer >= pair.Base.Layers) throw new SaeSharpException($"is {Layer}; the story host has blocks 0 to {pair.Base.Layers - 1}", field: "layer");
        if (SteeringAlphas.Count == 0 || !SteeringAlphas.Contains(0) || SteeringAlphas.Any(a => !double.IsFinite(a)))
            throw new SaeSharpException("must be finite and include 0 (the unsteered check)", field: "steering_alphas");
        new Crosscoders.CrosscoderConfig { InputDim = 1, LatentCount = LatentCount, K = K }.Validate();
        if (PairSteps is < 1 || DistillationSamples is < 1 || CrosscoderSteps is < 1)
            throw new SaeSharpException("pair steps, distillation samples and crosscoder steps must be at least 1", field: PairSteps is < 1 ? "pair_steps" : DistillationSamples is < 1 ? "distillation_samples" : "crosscoder_steps");
        if (!(L1Coefficient > 0)) throw new SaeSharpException($"is {L1Coefficient}; must be positive", field: "l1_coefficient");
        return this;
    }
}
