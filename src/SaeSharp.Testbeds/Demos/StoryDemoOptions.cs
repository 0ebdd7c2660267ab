using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Demos;

/// <summary>Settings of <see cref="StoryDemo.RunAsync"/>. Immutable; change with <c>with</c>.</summary>
public sealed record StoryDemoOptions
{
    /// <summary>
    /// Where the demo writes (required): <c>stories.json</c> (the harvest's token ids), <c>store/</c> (with its
    /// <c>labels.bin</c>), <c>sae/</c> and <c>dashboard.html</c> in it are replaced.
    /// </summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Folder of the cached hosts, one entry per host (<see cref="StoryHostCache.EntryName"/>). Required: the library picks no default location.</summary>
    public required string CacheFolder { get; init; }

    /// <summary>
    /// A small variant for CI (default false): a weak host trained in seconds (its own cache entry), fewer stories and
    /// SAE steps. Its numbers show that the pipeline runs, not how well an SAE does on the story host.
    /// </summary>
    public bool Quick { get; init; }

    /// <summary>Seed of the story host (its training stories and weights) and of the SAE (default 0).</summary>
    public ulong HostSeed { get; init; }

    /// <summary>
    /// Seed of the stories harvested for the SAE (default 1000). It must differ from <see cref="HostSeed"/>, so that the
    /// SAE and its scores see stories the host was not trained on.
    /// </summary>
    public ulong StorySeed { get; init; } = 1000;

    /// <summary>
    /// The block whose output (<c>resid_post.{Layer}</c>) the SAE reads, counted from 0 (default 2: of the two middle
    /// blocks, 1 and 2, the one where the SAE's latents covered more labels; README, "The story demo").
    /// </summary>
    public int Layer { get; init; } = 2;

    /// <summary>
    /// Training steps of the host when not <see cref="Quick"/> (default null: the recipe's). Fewer train a weaker
    /// host sooner, in its own cache entry (the same one <c>host train-stories --steps</c> writes).
    /// </summary>
    public int? HostSteps { get; init; }

    /// <summary>Train the host again even when it is cached (default false).</summary>
    public bool RetrainHost { get; init; }

    /// <summary>Stories harvested, each alone from its first token: 1500 (about 180k tokens), 120 when <see cref="Quick"/>.</summary>
    public int HarvestStories => Quick ? 120 : 1500;

    /// <summary>SAE dictionary size as a multiple of the host's width (8).</summary>
    public int LatentsPerDimension => 8;

    /// <summary>Active latents per token (16).</summary>
    public int K => 16;

    /// <summary>SAE training steps of <see cref="BatchSize"/> rows: 300 when <see cref="Quick"/>, else 4000 (about 20 passes over the store).</summary>
    public int Steps => Quick ? 300 : 4000;

    /// <summary>Rows per SAE step (1024).</summary>
    public int BatchSize => 1024;

    /// <summary>Latents shown on the dashboard: the best detector of each label, then a sample across densities (at most 64 in all).</summary>
    public int DashboardLatents => 64;

    /// <summary>
    /// The host's recipe: <see cref="StoryHostOptions"/>' defaults with <see cref="HostSeed"/> (and <see cref="HostSteps"/>),
    /// or with <see cref="Quick"/> a small corpus and 30 steps of 8 stories.
    /// </summary>
    public StoryHostOptions Host
    {
        get
        {
            var recipe = new StoryHostOptions { Seed = HostSeed };
            if (Quick)
            {
                return recipe with
                {
                    TrainStories = 300, HeldOutStories = 30, ConsistencyPrompts = 30,
                    Training = recipe.Training with { Steps = 30, BatchSize = 8, WarmupSteps = 5 },
                };
            }
            return HostSteps is { } steps ? recipe with { Training = recipe.Training with { Steps = steps } } : recipe;
        }
    }

    /// <summary>The hook the SAE reads.</summary>
    public string Hook => $"resid_post.{Layer}";

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A folder is empty, the seeds coincide, or the layer is not one of the host's.</exception>
    public StoryDemoOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory)) throw new SaeSharpException("is empty; pass the folder the demo writes to", field: "output_directory");
        if (string.IsNullOrWhiteSpace(CacheFolder)) throw new SaeSharpException("is empty; pass the folder that holds cached hosts", field: "cache_folder");
        if (StorySeed == HostSeed)
            throw new SaeSharpException($"is {StorySeed}, the host's seed; the harvested stories must not be the host's training stories", field: "story_seed");
        var host = Host.Validate();
        if (Layer < 0 || Layer >= host.Layers)
            throw new SaeSharpException($"is {Layer}; the story host has blocks 0 to {host.Layers - 1}", field: "layer");
        return this;
    }
}
