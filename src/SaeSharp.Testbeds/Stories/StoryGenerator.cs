using SaeSharp.Harvest.Tokenization;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// Writes TinyStories-like children's stories from a seeded probabilistic grammar, each with its GPT-2 token ids
/// and per-token ground-truth labels (<see cref="StoryLabels"/>), and held-out <see cref="ConsistencyPrompt"/>s
/// whose next token the grammar fixes. docs/stories.md describes the grammar, the labels and the prompts.
/// </summary>
/// <remarks>
/// Deterministic: the same options give the same sequence from <see cref="Next"/> and the same prompts from
/// <see cref="ConsistencyPrompts"/>, which draw from a separate stream so that asking for prompts never shifts the
/// stories. Token ids are the whole text tokenized at once (GPT-2's built-in vocabulary); the labels come from the
/// characters each token covers, so ids and labels cannot drift apart.
/// </remarks>
public sealed class StoryGenerator
{
    // Mixed into the seed for the prompt stream, so prompts come from stories the training sequence does not hold.
    private const ulong PromptStream = 0x5EED_0F_C0A51_57E7UL;

    private static readonly string[] PromptKinds = ["pronoun", "speaker", "phrase"];

    private readonly StoryGeneratorOptions _options;
    private readonly StoryRandom _rng;
    private readonly Gpt2Tokenizer _tokenizer = Gpt2Tokenizer.Gpt2();

    /// <summary>A generator at the start of the sequence for <paramref name="options"/>' seed.</summary>
    /// <exception cref="SaeSharpException">An option is out of range.</exception>
    public StoryGenerator(StoryGeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _rng = new StoryRandom(options.Seed);
    }

    /// <summary>The next story of the sequence; at most <see cref="StoryGeneratorOptions.MaxTokens"/> tokens.</summary>
    public Story Next() => Tokenized(NextDraft(_rng)).Story;

    /// <summary>The next <paramref name="count"/> stories of the sequence.</summary>
    public IReadOnlyList<Story> Generate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var stories = new Story[count];
        for (int i = 0; i < count; i++) stories[i] = Next();
        return stories;
    }

    /// <summary>
    /// <paramref name="count"/> held-out prompts, kinds in turn (pronoun, speaker, phrase), each the prefix of a
    /// fresh story cut before a forced word. The same for a seed however many stories were drawn before.
    /// </summary>
    public IReadOnlyList<ConsistencyPrompt> ConsistencyPrompts(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rng = new StoryRandom(_options.Seed ^ PromptStream);
        var prompts = new List<ConsistencyPrompt>(count);
        while (prompts.Count < count)
        {
            string kind = PromptKinds[prompts.Count % PromptKinds.Length];
            var (draft, story, starts) = Tokenized(NextDraft(rng));
            var points = draft.Points.Where(p => p.Kind == kind).ToList();
            if (points.Count == 0) continue;
            var point = points[rng.Below(points.Count)];
            // The forced word is a token of its own with its leading space: the token starting at the space.
            int k = Array.IndexOf(starts, point.Offset);
            if (k < 0 || _tokenizer.Decode([story.TokenIds[k]]) != " " + point.Expected)
                throw new InvalidOperationException($"forced word `{point.Expected}` is not one GPT-2 token at offset {point.Offset}");
            prompts.Add(new ConsistencyPrompt(kind, story.Text[..point.Offset], story.TokenIds.Take(k).ToArray(),
                story.TokenIds[k], " " + point.Expected));
        }
        return prompts;
    }

    private StoryDraft NextDraft(StoryRandom rng)
    {
        var grammar = new StoryGrammar(rng, _options);
        while (true)
        {
            var draft = grammar.Write();
            if (_tokenizer.Encode(draft.Text).Length <= _options.MaxTokens) return draft;
        }
    }

    private (StoryDraft Draft, Story Story, int[] Starts) Tokenized(StoryDraft draft)
    {
        string text = draft.Text;
        int[] ids = _tokenizer.Encode(text);
        var starts = new int[ids.Length];
        var labels = new ulong[ids.Length];
        int offset = 0;
        for (int t = 0; t < ids.Length; t++)
        {
            // The stories are ASCII, so every token decodes to whole characters on its own.
            string piece = _tokenizer.Decode([ids[t]]);
            if (string.CompareOrdinal(text, offset, piece, 0, piece.Length) != 0)
                throw new InvalidOperationException($"token {t} ({piece}) does not match the text at {offset}");
            starts[t] = offset;
            for (int c = offset; c < offset + piece.Length; c++) labels[t] |= draft.CharLabels[c];
            offset += piece.Length;
        }
        if (offset != text.Length) throw new InvalidOperationException("tokens do not cover the story text");
        return (draft, new Story(text, ids, labels), starts);
    }
}
