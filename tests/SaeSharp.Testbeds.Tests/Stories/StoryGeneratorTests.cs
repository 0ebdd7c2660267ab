using System.Text.RegularExpressions;
using SaeSharp.Harvest.Tokenization;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Tests.Stories;

public sealed partial class StoryGeneratorTests
{
    private static readonly Lazy<IReadOnlyList<Story>> Many = new(() => new StoryGenerator(new StoryGeneratorOptions { Seed = 7 }).Generate(1500));

    private static readonly HashSet<string> Female = ["Lily", "Sue", "Mia", "Amy", "Anna", "Emma", "Lucy", "Sara", "Kate", "Jane", "Grace", "Rose", "Zoe", "Lisa", "Molly", "Daisy"];
    private static readonly HashSet<string> Male = ["Tom", "Ben", "Max", "Sam", "Tim", "Jack", "Leo", "Bob", "Dan", "Jim", "Joe", "Mark", "Paul", "Luke", "Billy", "Fred"];

    private static int Label(string name) => StoryLabels.IndexOf(name);

    [Fact]
    public void Generate_SameSeed_SameStories_DifferentSeed_Differ()
    {
        var a = new StoryGenerator(new StoryGeneratorOptions { Seed = 3 }).Generate(20);
        var b = new StoryGenerator(new StoryGeneratorOptions { Seed = 3 }).Generate(20);
        var c = new StoryGenerator(new StoryGeneratorOptions { Seed = 4 }).Generate(20);
        Assert.Equal(a.Select(s => s.Text), b.Select(s => s.Text));
        Assert.Equal(a.SelectMany(s => s.TokenIds), b.SelectMany(s => s.TokenIds));
        Assert.Equal(a.SelectMany(s => s.TokenLabels), b.SelectMany(s => s.TokenLabels));
        Assert.True(a.Zip(c).Count(p => p.First.Text != p.Second.Text) >= 19);
        Assert.Equal(20, a.Select(s => s.Text).Distinct().Count());
    }

    [Fact]
    public void Generate_IdsAreWholeTextGpt2Tokenization_WithinMaxTokens()
    {
        var tokenizer = Gpt2Tokenizer.Gpt2();
        var lengths = new List<int>();
        foreach (var story in Many.Value)
        {
            Assert.Equal(tokenizer.Encode(story.Text), story.TokenIds);
            Assert.Equal(story.Text, tokenizer.Decode(story.TokenIds));
            Assert.Equal(story.TokenIds.Count, story.TokenLabels.Count);
            lengths.Add(story.TokenIds.Count);
        }
        Assert.True(lengths.Max() <= 200, $"longest story {lengths.Max()} tokens");
        Assert.InRange(lengths.Average(), 60, 200);
        Assert.True(lengths.Min() >= 30, $"shortest story {lengths.Min()} tokens");
    }

    [Fact]
    public void Generate_Vocabulary_SeveralHundredDistinctWords()
    {
        var words = Many.Value.SelectMany(s => WordPattern().Matches(s.Text).Select(m => m.Value.ToLowerInvariant())).ToHashSet();
        Assert.True(words.Count >= 300, $"only {words.Count} distinct words");
    }

    [Fact]
    public void Options_OutOfRange_RefusedNamingTheField()
    {
        Assert.Equal("max_tokens", Assert.Throws<SaeSharpException>(() => new StoryGenerator(new StoryGeneratorOptions { MaxTokens = 10 })).Field);
        Assert.Equal("moral_probability", Assert.Throws<SaeSharpException>(() => new StoryGenerator(new StoryGeneratorOptions { MoralProbability = 1.5 })).Field);
        Assert.Equal("dialogue_probability", Assert.Throws<SaeSharpException>(() => new StoryGenerator(new StoryGeneratorOptions { DialogueProbability = double.NaN })).Field);
        Assert.Contains("no story label", Assert.Throws<SaeSharpException>(() => StoryLabels.IndexOf("dragon")).Message);
    }

    [Fact]
    public void Options_FeatureProbabilities_ControlTheFeatures()
    {
        var none = new StoryGenerator(new StoryGeneratorOptions { Seed = 1, DialogueProbability = 0, TwistProbability = 0, MoralProbability = 0, BadEndingProbability = 0 }).Generate(100);
        var all = new StoryGenerator(new StoryGeneratorOptions { Seed = 1, DialogueProbability = 1, TwistProbability = 1, MoralProbability = 1, BadEndingProbability = 1 }).Generate(100);
        int Count(IEnumerable<Story> stories, string label) => stories.Count(s => Enumerable.Range(0, s.TokenIds.Count).Any(t => s.HasLabel(t, Label(label))));
        foreach (var label in new[] { "in_quotes", "twist", "moral", "bad_ending" })
        {
            Assert.Equal(0, Count(none, label));
            Assert.Equal(100, Count(all, label));
        }
        Assert.Equal(100, Count(none, "happy_ending"));
        Assert.Equal(0, Count(all, "happy_ending"));
    }

    [Fact]
    public void Generate_ArticlesAgreeWithTheWordAfter()
    {
        foreach (var story in Many.Value)
        {
            Assert.DoesNotMatch(@"\ba [aeiou]", story.Text);
            Assert.DoesNotMatch(@"\ban [^aeiou]", story.Text);
        }
    }

    [Fact]
    public void Generate_PronounsAgreeWithTheirCharacter()
    {
        int pronoun = Label("pronoun"), female = Label("female"), male = Label("male"), c1 = Label("character_1"), c2 = Label("character_2"), name = Label("name");
        var tokenizer = Gpt2Tokenizer.Gpt2();
        int checkedPronouns = 0;
        foreach (var story in Many.Value)
        {
            // Which name each character slot holds, from the name tokens.
            var slotNames = new Dictionary<int, string>();
            for (int t = 0; t < story.TokenIds.Count; t++)
            {
                string word = tokenizer.Decode([story.TokenIds[t]]).Trim();
                if (story.HasLabel(t, name))
                {
                    int slot = story.HasLabel(t, c1) ? 1 : 2;
                    if (slotNames.TryGetValue(slot, out var known)) Assert.Equal(known, word);
                    else slotNames[slot] = word;
                    Assert.Equal(Female.Contains(word), story.HasLabel(t, female));
                    Assert.Equal(Male.Contains(word), story.HasLabel(t, male));
                }
                if (!story.HasLabel(t, pronoun)) continue;
                string p = word.ToLowerInvariant();
                int pslot = story.HasLabel(t, c1) ? 1 : 2;
                Assert.True(story.HasLabel(t, c1) ^ story.HasLabel(t, c2));
                bool isFemale = Female.Contains(slotNames[pslot]);
                Assert.Contains(p, isFemale ? new[] { "she", "her" } : new[] { "he", "him", "his" });
                Assert.Equal(isFemale, story.HasLabel(t, female));
                checkedPronouns++;
            }
        }
        Assert.True(checkedPronouns > 1500, $"only {checkedPronouns} pronouns");
    }

    [Fact]
    public void Generate_FirstNameReturnsInALaterSentence()
    {
        int returning = 0;
        foreach (var story in Many.Value)
        {
            var sentences = SentencePattern().Matches(story.Text).Select(m => m.Value).ToList();
            string first = NamePattern().Matches(sentences[0]).Select(m => m.Value).First(w => Female.Contains(w) || Male.Contains(w));
            if (sentences.Skip(3).Any(s => Regex.IsMatch(s, $@"\b{first}\b"))) returning++;
        }
        Assert.True(returning >= Many.Value.Count * 0.9, $"first name returns after sentence 3 in only {returning} stories");
    }

    [Fact]
    public void Generate_PluralAndPastPairsBothOccur()
    {
        var words = Many.Value.SelectMany(s => WordPattern().Matches(s.Text).Select(m => m.Value)).ToHashSet();
        string[][] pairs = [["dog", "dogs"], ["cat", "cats"], ["ball", "balls"], ["box", "boxes"], ["bunny", "bunnies"],
            ["walk", "walked"], ["jump", "jumped"], ["play", "played"], ["run", "ran"], ["kick", "kicked"], ["throw", "threw"]];
        foreach (var pair in pairs)
        {
            Assert.Contains(pair[0], words);
            Assert.Contains(pair[1], words);
        }
    }

    [Fact]
    public void Labels_NameAnimalPluralPast_DecodeToMatchingWords()
    {
        var tokenizer = Gpt2Tokenizer.Gpt2();
        int name = Label("name"), animal = Label("animal"), plural = Label("plural"), past = Label("verb_past"), quotes = Label("in_quotes"), moral = Label("moral");
        var support = new int[StoryLabels.Names.Count];
        foreach (var story in Many.Value)
        {
            bool inQuote = false;
            for (int t = 0; t < story.TokenIds.Count; t++)
            {
                string piece = tokenizer.Decode([story.TokenIds[t]]);
                for (int l = 0; l < support.Length; l++) if (story.HasLabel(t, l)) support[l]++;
                if (story.HasLabel(t, name)) Assert.True(Female.Contains(piece.Trim()) || Male.Contains(piece.Trim()) || IsPartOfName(piece), piece);
                if (story.HasLabel(t, animal) && story.HasLabel(t, plural)) Assert.NotEqual("dog", piece.Trim());
                if (story.HasLabel(t, past)) Assert.DoesNotContain(piece.Trim(), new[] { "walk", "jump", "play", "run" });
                // A token is in quotes exactly when it lies between an odd quote mark and the next one.
                bool hasQuote = piece.Contains('"');
                if (!hasQuote) Assert.Equal(inQuote, story.HasLabel(t, quotes));
                else { Assert.True(story.HasLabel(t, quotes)); inQuote = !inQuote; }
            }
            Assert.False(inQuote);
            if (story.Text.Contains("The moral of the story")) Assert.Contains(Enumerable.Range(0, story.TokenIds.Count), t => story.HasLabel(t, moral));
        }
        // The reflection labels belong to the teacher's corpus only (ReflectionProbability 0 here): StoryReflectionsTests.
        for (int l = 0; l < support.Length; l++)
            if (StoryLabels.ReflectionNames.Contains(StoryLabels.Names[l])) Assert.Equal(0, support[l]);
            else Assert.True(support[l] >= 200, $"label {StoryLabels.Names[l]} has only {support[l]} tokens in 1500 stories");
    }

    private static bool IsPartOfName(string piece) => Female.Concat(Male).Any(n => n.Contains(piece.Trim(), StringComparison.Ordinal));

    [Fact]
    public void ConsistencyPrompts_DeterministicKindsInTurnAndPrefixesOfTokenization()
    {
        var tokenizer = Gpt2Tokenizer.Gpt2();
        var generator = new StoryGenerator(new StoryGeneratorOptions { Seed = 5 });
        var prompts = generator.ConsistencyPrompts(30);
        generator.Generate(10);
        var again = generator.ConsistencyPrompts(30);
        Assert.Equal(prompts.Select(p => p.PromptText), again.Select(p => p.PromptText));
        for (int i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i];
            Assert.Equal(new[] { "pronoun", "speaker", "phrase" }[i % 3], p.Kind);
            Assert.Equal(tokenizer.Encode(p.PromptText), p.PromptIds);
            Assert.Equal(p.ExpectedText, tokenizer.Decode([p.ExpectedId]));
            Assert.Equal(tokenizer.Encode(p.PromptText + p.ExpectedText), p.PromptIds.Append(p.ExpectedId));
        }
        // Every name and forced word is one GPT-2 token: many prompts cover them all (ConsistencyPrompts checks each).
        var many = new StoryGenerator(new StoryGeneratorOptions { Seed = 6 }).ConsistencyPrompts(600);
        Assert.Equal(32, many.Where(p => p.Kind == "speaker").Select(p => p.ExpectedText).Distinct().Count());
        // Held out: no prompt's story prefix starts a training story of the same seed.
        var training = new StoryGenerator(new StoryGeneratorOptions { Seed = 5 }).Generate(200).Select(s => s.Text).ToList();
        Assert.DoesNotContain(prompts, p => p.PromptText.Length > 150 && training.Any(t => t.StartsWith(p.PromptText, StringComparison.Ordinal)));
    }

    [Fact]
    public void Grammar_ForcedContexts_NeverContinueOtherwise()
    {
        int possessive = 0, because = 0, speaker = 0, phrase = 0;
        foreach (var text in Many.Value.Select(s => s.Text))
        {
            foreach (Match m in PossessivePattern().Matches(text))
            {
                Assert.Equal(Possessive(m.Groups[1].Value), m.Groups[3].Value);
                possessive++;
            }
            foreach (Match m in BecausePattern().Matches(text))
            {
                Assert.Equal(Subject(m.Groups[1].Value), m.Groups[2].Value);
                because++;
            }
            foreach (Match m in SaidPattern().Matches(text))
            {
                // The sentence before the quote: after the last sentence mark before it.
                string before = text[..m.Index].TrimEnd().TrimEnd('.');
                int start = before.LastIndexOfAny(['.', '!', '?']) + 1;
                string introducer = WordPattern().Match(before[start..]).Value;
                Assert.Equal(introducer, m.Groups[1].Value);
                speaker++;
            }
            Assert.Equal(Regex.Matches(text, @"\bsaid\b").Count, SaidPattern().Matches(text).Count);
            foreach (Match m in PhrasePattern().Matches(text))
            {
                Assert.Equal(m.Groups[1].Value switch { "upon a" => "time", "ever" => "after", _ => "friends" }, m.Groups[2].Value);
                phrase++;
            }
        }
        Assert.True(possessive > 1000 && because > 300 && speaker > 1000 && phrase > 1000, $"{possessive} {because} {speaker} {phrase}");
    }

    private static string Possessive(string subject) => subject switch
    {
        "she" or "She" => "her",
        "he" or "He" => "his",
        _ => Female.Contains(subject) ? "her" : Male.Contains(subject) ? "his" : throw new InvalidOperationException(subject),
    };

    private static string Subject(string name) => Female.Contains(name) ? "she" : Male.Contains(name) ? "he" : throw new InvalidOperationException(name);

    [GeneratedRegex(@"[A-Za-z']+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"\b[A-Z][a-z]+\b")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"[^.!?]+[.!?]""?")]
    private static partial Regex SentencePattern();

    [GeneratedRegex(@"(\w+) (picked up|held|hugged|showed|lost) (\w+)")]
    private static partial Regex PossessivePattern();

    [GeneratedRegex(@"(\w+) (?:smiled|was \w+) because (\w+)")]
    private static partial Regex BecausePattern();

    [GeneratedRegex(@" ""[^""]*"" said (\w+)")]
    private static partial Regex SaidPattern();

    [GeneratedRegex(@"\b(upon a|ever|best) (\w+)")]
    private static partial Regex PhrasePattern();
}
