using SaeSharp.Hosts;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// The story host's recipe: how many generated stories, the GPT-Neo's shape and how it is trained. Immutable; change
/// with <c>with</c>. The defaults are the recipe <see cref="StoryHost"/> ships (version <see cref="StoryHost.RecipeVersion"/>).
/// </summary>
public sealed record StoryHostOptions
{
    /// <summary>Seed of the stories (the generator's), the initial weights and the batch order (default 0).</summary>
    public ulong Seed { get; init; }

    /// <summary>Generated training stories (default 12,000).</summary>
    public int TrainStories { get; init; } = 12_000;

    /// <summary>Generated held-out stories: <c>val_loss</c> and <c>heldout_stories.txt</c> (default 200).</summary>
    public int HeldOutStories { get; init; } = 200;

    /// <summary>Consistency prompts, kinds in turn (default 300: 100 per kind).</summary>
    public int ConsistencyPrompts { get; init; } = 300;

    /// <summary>Transformer blocks, alternating global and local attention as TinyStories-33M's (default 4).</summary>
    public int Layers { get; init; } = 4;

    /// <summary>Residual width (default 128).</summary>
    public int ModelDim { get; init; } = 128;

    /// <summary>Attention heads (default 4).</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Key window of the local layers (default 32).</summary>
    public int Window { get; init; } = 32;

    /// <summary>Learned positions: the longest input (default 256; the generator's stories are at most 200 tokens).</summary>
    public int ContextLength { get; init; } = 256;

    /// <summary>How the model is trained (steps, batch, learning rate...).</summary>
    public LanguageModelTrainOptions Training { get; init; } = new() { Steps = 1000, BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 50 };

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it.</exception>
    public StoryHostOptions Validate()
    {
        if (TrainStories < 1) throw new SaeSharpException($"is {TrainStories}; at least one training story is needed", field: nameof(TrainStories));
        if (HeldOutStories < 1) throw new SaeSharpException($"is {HeldOutStories}; at least one held-out story is needed", field: nameof(HeldOutStories));
        if (ConsistencyPrompts < 3) throw new SaeSharpException($"is {ConsistencyPrompts}; at least 3 (one per kind)", field: nameof(ConsistencyPrompts));
        if (ModelDim % Heads != 0) throw new SaeSharpException($"is {Heads}, which does not divide ModelDim {ModelDim}", field: nameof(Heads));
        if (ContextLength < 201) throw new SaeSharpException($"is {ContextLength}; the generator's stories need at least 201", field: nameof(ContextLength));
        Host(1).Validate();
        Training.Validate();
        return this;
    }

    /// <summary>The host's GPT-Neo configuration for a compact vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    public HostConfig Host(int vocabularySize) => HostConfig.GptNeo(vocabularySize, ContextLength, ModelDim, Heads, Layers, Window);
}
