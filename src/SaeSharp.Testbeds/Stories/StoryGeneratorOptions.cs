namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// How <see cref="StoryGenerator"/> writes stories. Immutable; change with <c>with</c>. The same options give the
/// same stories on every machine and .NET version (the generator's random numbers come from its own SplitMix64).
/// </summary>
public sealed record StoryGeneratorOptions
{
    /// <summary>Seed of the story sequence (default 0).</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Longest story in GPT-2 tokens (default 200, so a story and no BOS fit a 256-token context); a longer draw
    /// is discarded and drawn again, deterministically.
    /// </summary>
    public int MaxTokens { get; init; } = 200;

    /// <summary>Probability that a story holds a dialogue in quotes (default 0.6).</summary>
    public double DialogueProbability { get; init; } = 0.6;

    /// <summary>Probability of a bad ending instead of a happy one (default 0.25).</summary>
    public double BadEndingProbability { get; init; } = 0.25;

    /// <summary>Probability that a story closes with a moral (default 0.3).</summary>
    public double MoralProbability { get; init; } = 0.3;

    /// <summary>Probability of a plot twist (default 0.25).</summary>
    public double TwistProbability { get; init; } = 0.25;

    /// <summary>
    /// Probability that a self-reflection follows an event (default 0: the base corpus, which never holds one). A
    /// reflection is two sentences, <c>Wait, let me think again.</c> and <c>Maybe NAME|she|he was not FEELING after
    /// all.</c>, labelled <c>reflection</c>, <c>reflection_pause</c> and <c>reflection_doubt</c>: the new behaviour a
    /// teacher learns and a distilled model inherits (docs/crosscoder-stories.md). At 0 no random number is drawn for
    /// it, so the stories are exactly those of the options without it.
    /// </summary>
    public double ReflectionProbability { get; init; }

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public void Validate()
    {
        if (MaxTokens < 64 || MaxTokens > 4096)
            throw new SaeSharpException($"max_tokens is {MaxTokens}; it must be in [64, 4096] (the grammar's longest story needs about 200)", field: "max_tokens");
        CheckProbability(DialogueProbability, "dialogue_probability");
        CheckProbability(BadEndingProbability, "bad_ending_probability");
        CheckProbability(MoralProbability, "moral_probability");
        CheckProbability(TwistProbability, "twist_probability");
        CheckProbability(ReflectionProbability, "reflection_probability");
    }

    private static void CheckProbability(double value, string field)
    {
        if (!(value >= 0 && value <= 1))
            throw new SaeSharpException($"{field} is {value}; it must be a probability in [0, 1]", field: field);
    }
}
