namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// One generated story: its text, its GPT-2 token ids (the text tokenized as a whole, no BOS) and, per token, the
/// bitset of its ground-truth labels (bit i is <see cref="StoryLabels.Names"/>[i]; docs/stories.md defines each).
/// </summary>
/// <param name="Text">The story, ASCII, one line.</param>
/// <param name="TokenIds">GPT-2 ids of <paramref name="Text"/>.</param>
/// <param name="TokenLabels">One label bitset per token, aligned with <paramref name="TokenIds"/>.</param>
public sealed record Story(string Text, IReadOnlyList<int> TokenIds, IReadOnlyList<ulong> TokenLabels)
{
    /// <summary>Whether token <paramref name="position"/> carries label <paramref name="label"/> (an index into <see cref="StoryLabels.Names"/>).</summary>
    public bool HasLabel(int position, int label) => (TokenLabels[position] >> label & 1UL) != 0;
}
