namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// The catalog of per-token ground-truth labels a <see cref="Story"/> carries: bit i of a token's bitset is
/// <see cref="Names"/>[i]. Every label is token-local (docs/stories.md gives each one's exact meaning): a token
/// carries a label when any of its non-space characters belongs to a word, punctuation mark or sentence that the
/// generator marked with it.
/// </summary>
public static class StoryLabels
{
    // Bit positions; the order of Names follows them.
    internal const int Name = 0, Animal = 1, Object = 2, Place = 3, Feeling = 4, Weather = 5, Family = 6, Pronoun = 7,
        Character1 = 8, Character2 = 9, Female = 10, Male = 11, InQuotes = 12, Question = 13, SpeakerTag = 14,
        Opening = 15, Twist = 16, BadEnding = 17, HappyEnding = 18, Moral = 19, Plural = 20, Singular = 21,
        VerbPast = 22, VerbPresent = 23, Adjective = 24, Color = 25, Number = 26, Punctuation = 27, SentenceEnd = 28,
        Negation = 29, FixedPhrase = 30, Person = 31, Reflection = 32, ReflectionPause = 33, ReflectionDoubt = 34;

    private static readonly string[] Catalog =
    [
        "name", "animal", "object", "place", "feeling", "weather", "family", "pronoun",
        "character_1", "character_2", "female", "male", "in_quotes", "question", "speaker_tag",
        "opening", "twist", "bad_ending", "happy_ending", "moral", "plural", "singular",
        "verb_past", "verb_present", "adjective", "color", "number", "punctuation", "sentence_end",
        "negation", "fixed_phrase", "person",
        "reflection", "reflection_pause", "reflection_doubt",
    ];

    /// <summary>
    /// The labels of the self-reflection sentences, which only stories written with
    /// <see cref="StoryGeneratorOptions.ReflectionProbability"/> above 0 hold: the behaviour the base corpus lacks.
    /// </summary>
    public static IReadOnlyList<string> ReflectionNames { get; } = Array.AsReadOnly(new[] { "reflection", "reflection_pause", "reflection_doubt" });

    /// <summary>The label names, in bit order (snake_case, stable across versions: new labels are appended).</summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(Catalog);

    /// <summary>The bit index of label <paramref name="name"/>.</summary>
    /// <exception cref="SaeSharpException">No label has that name.</exception>
    public static int IndexOf(string name)
    {
        int index = Array.IndexOf(Catalog, name);
        if (index < 0) throw new SaeSharpException($"no story label is called `{name}`; the labels are {string.Join(", ", Catalog)}", field: "label");
        return index;
    }

    internal static ulong Bit(int label) => 1UL << label;
}
