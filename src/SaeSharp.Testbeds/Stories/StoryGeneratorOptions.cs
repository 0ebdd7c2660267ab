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
    }

    private static void CheckProbability(double value, string field)
    {
        if (!(value >= 0 && value <= 1))
            throw new SaeSharpException($"{field} is {value}; it must be a probability in [0, 1]", field: field);
    }
}
