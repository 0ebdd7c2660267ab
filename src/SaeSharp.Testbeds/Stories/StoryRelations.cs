using SaeSharp.Harvest.Tokenization;
using SaeSharp.Hosts;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// The story generator's word relations as ground truth for crystal-scale geometry: the lexicon's nouns as
/// singular → plural, its verbs as present → past, and its male → female counterparts (names paired in lexicon order,
/// boy/girl, dad/mom, grandpa/grandma, brother/sister); and the host's vector for each word, its residual at a hook
/// point averaged over the word's occurrences in generated stories (the last token of the word, in context).
/// </summary>
public static class StoryRelations
{
    /// <summary>Relation names.</summary>
    public const string Plural = "plural", Past = "past", Female = "female";

    /// <summary>Every pair of the lexicon: nouns (animals, objects), verbs (intransitive, transitive), then male/female.</summary>
    public static IReadOnlyList<StoryRelationPair> Pairs()
    {
        var pairs = new List<StoryRelationPair>();
        // "fish" is its own plural: no difference vector to speak of.
        foreach (var (one, many) in StoryLexicon.Animals.Concat(StoryLexicon.Objects).Where(p => p.One != p.Many))
            pairs.Add(new(Plural, one, many));
        foreach (var (now, past) in StoryLexicon.Intransitive.Concat(StoryLexicon.Transitive))
            pairs.Add(new(Past, now, past));
        foreach (var (male, female) in StoryLexicon.MaleNames.Zip(StoryLexicon.FemaleNames))
            pairs.Add(new(Female, male, female));
        foreach (var (male, female) in new[] { ("boy", "girl"), ("dad", "mom"), ("grandpa", "grandma"), ("brother", "sister") })
            pairs.Add(new(Female, male, female));
        return pairs;
    }

    /// <summary>
    /// Runs the host over generated stories and averages, for every word of <see cref="Pairs"/>, the residual at
    /// <paramref name="hookPoint"/> at the word's last token wherever it stands as a whole word (preceded by a space,
    /// not followed by more letters). Pairs whose words occur fewer than <paramref name="minOccurrences"/> times are left out.
    /// </summary>
    /// <param name="model">The story host's model (<see cref="StoryHostResult.Model"/>); switched to eval mode.</param>
    /// <param name="vocabulary">Its compact vocabulary (<see cref="StoryHostResult.Vocabulary"/>).</param>
    /// <param name="hookPoint">A residual point of the host, e.g. <c>resid_post.1</c>.</param>
    /// <param name="stories">Stories to generate and read (default 400).</param>
    /// <param name="seed">Seed of the story generator (default 1; the host was trained on seed-derived stories of its own).</param>
    /// <param name="minOccurrences">Occurrences each word of a kept pair needs (default 3).</param>
    /// <exception cref="SaeSharpException">An unknown hook point, or an argument out of range.</exception>
    public static StoryRelationVectors WordVectors(HostTransformer model, CompactVocabulary vocabulary, string hookPoint, int stories = 400, ulong seed = 1, int minOccurrences = 3)
    {
        if (stories < 1) throw new SaeSharpException($"stories {stories} must be at least 1", field: "stories");
        if (minOccurrences < 1) throw new SaeSharpException($"min occurrences {minOccurrences} must be at least 1", field: "min_occurrences");
        var tokenizer = Gpt2Tokenizer.Gpt2();
        var pairs = Pairs();
        var words = pairs.SelectMany(p => new[] { p.First, p.Second }).Distinct().ToArray();
        var wordTokens = words.ToDictionary(w => w, w => tokenizer.Encode(" " + w));
        var continues = new Dictionary<int, bool>();
        bool ContinuesWord(int id)
        {
            if (!continues.TryGetValue(id, out bool value))
                continues[id] = value = tokenizer.Decode([id]) is { Length: > 0 } text && char.IsLetter(text[0]);
            return value;
        }

        int d = model.Config.ModelDim;
        var sums = words.ToDictionary(w => w, _ => new double[d]);
        var counts = words.ToDictionary(w => w, _ => 0);
        var generator = new StoryGenerator(new StoryGeneratorOptions { Seed = seed });
        model.eval();
        foreach (var story in generator.Generate(stories))
        {
            var ids = story.TokenIds;
            var ends = new List<(string Word, int Position)>();
            foreach (var word in words)
            {
                var pattern = wordTokens[word];
                for (int start = 0; start + pattern.Length <= ids.Count; start++)
                {
                    int end = start + pattern.Length;
                    if (!Matches(ids, start, pattern) || (end < ids.Count && ContinuesWord(ids[end]))) continue;
                    ends.Add((word, end - 1));
                }
            }
            if (ends.Count == 0) continue;
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var hooks = new HostHooks().Capture(hookPoint);
            var input = tensor(vocabulary.ToCompact(ids), [1, ids.Count]);
            model.Forward(input, hooks);
            var residualTD = hooks.Captured[hookPoint][0].to(ScalarType.Float64).contiguous();
            var values = residualTD.data<double>().ToArray();
            foreach (var (word, position) in ends)
            {
                var sum = sums[word];
                for (int j = 0; j < d; j++) sum[j] += values[position * d + j];
                counts[word]++;
            }
        }

        var kept = pairs.Where(p => counts[p.First] >= minOccurrences && counts[p.Second] >= minOccurrences).ToArray();
        float[] Means(Func<StoryRelationPair, string> pick) =>
            [.. kept.SelectMany(p => sums[pick(p)].Select(v => (float)(v / counts[pick(p)])))];
        return new StoryRelationVectors(kept, tensor(Means(p => p.First), [kept.Length, d]), tensor(Means(p => p.Second), [kept.Length, d]),
            hookPoint, [.. kept.Select(p => (counts[p.First], counts[p.Second]))]);
    }

    private static bool Matches(IReadOnlyList<int> ids, int start, int[] pattern)
    {
        for (int i = 0; i < pattern.Length; i++)
            if (ids[start + i] != pattern[i]) return false;
        return true;
    }
}
