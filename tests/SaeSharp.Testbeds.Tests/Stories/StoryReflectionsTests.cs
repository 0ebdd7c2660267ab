using SaeSharp.Harvest.Tokenization;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Tests.Stories;

/// <summary>The self-reflection behaviour: written by the generator with its labels, and parsed back from plain text.</summary>
public sealed class StoryReflectionsTests
{
    private static readonly int Reflection = StoryLabels.IndexOf("reflection"), Pause = StoryLabels.IndexOf("reflection_pause"),
        Doubt = StoryLabels.IndexOf("reflection_doubt"), SentenceEnd = StoryLabels.IndexOf("sentence_end");

    [Fact]
    public void Generator_ReflectionProbabilityZero_WritesTheBaseCorpusUnchanged()
    {
        var plain = new StoryGenerator(new StoryGeneratorOptions { Seed = 5 }).Generate(200);
        var zero = new StoryGenerator(new StoryGeneratorOptions { Seed = 5, ReflectionProbability = 0 }).Generate(200);
        Assert.Equal(plain.Select(s => s.Text), zero.Select(s => s.Text));
        Assert.DoesNotContain(plain, s => s.TokenLabels.Any(l => (l >> Reflection & 1) != 0));
        Assert.DoesNotContain(plain, s => s.Text.Contains("Wait", StringComparison.Ordinal) || s.Text.Contains("Maybe", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_GeneratedStories_FindsExactlyTheSentencesTheGeneratorLabelled()
    {
        var stories = new StoryGenerator(new StoryGeneratorOptions { Seed = 9, ReflectionProbability = 0.3 }).Generate(400);
        var tokenizer = Gpt2Tokenizer.Gpt2();
        int labelled = 0, pauses = 0, doubts = 0;
        foreach (var story in stories)
        {
            for (int t = 0; t < story.TokenIds.Count; t++)
            {
                if (!story.HasLabel(t, SentenceEnd) || !story.HasLabel(t, Reflection)) continue;
                labelled++;
                if (story.HasLabel(t, Pause)) pauses++;
                if (story.HasLabel(t, Doubt)) doubts++;
                Assert.False(story.HasLabel(t, Pause) && story.HasLabel(t, Doubt));
            }
            // Every reflection token decodes to a word of the two templates.
            for (int t = 0; t < story.TokenIds.Count; t++)
                if (story.HasLabel(t, Pause))
                    Assert.Contains(tokenizer.Decode([story.TokenIds[t]]).Trim(), new[] { "Wait", ",", "let", "me", "think", "again", "." });
        }
        var (reflections, sentences) = StoryReflections.Count(stories.Select(s => s.Text));
        Assert.True(labelled > 200, $"only {labelled} reflection sentences in 400 stories");
        Assert.Equal(labelled, reflections);
        Assert.Equal(pauses, doubts);
        Assert.True(sentences > 2 * labelled, $"{sentences} sentences for {labelled} reflections");
    }

    [Theory]
    [InlineData("Wait, let me think again.", true)]
    [InlineData("Maybe Tom was not sad after all.", true)]
    [InlineData("Maybe she was not glad after all.", true)]
    [InlineData("Wait, let me think.", false)]
    [InlineData("Maybe Tom was sad after all.", false)]
    [InlineData("Maybe Tom was not hungry after all.", false)]
    [InlineData("Maybe Bob was not happy after all!", false)]
    [InlineData("Maybe Zed was not sad after all.", false)]
    [InlineData("wait, let me think again.", false)]
    public void IsReflection_OnlyTheTemplatesWithLexiconWords(string sentence, bool expected) =>
        Assert.Equal(expected, StoryReflections.IsReflection(sentence));

    [Fact]
    public void Sentences_QuotesAndMarks_SplitAfterTheMarkAndItsClosingQuote()
    {
        var sentences = StoryReflections.Sentences("Tom was sad. \"Let's swim in the lake!\" said Tom. Wait, let me think again. Maybe he was not sad after all. Then");
        Assert.Equal(["Tom was sad.", "\"Let's swim in the lake!\"", "said Tom.", "Wait, let me think again.", "Maybe he was not sad after all.", "Then"], sentences);
        Assert.Empty(StoryReflections.Sentences("  "));
        Assert.Equal((2, 6), StoryReflections.Count(["Tom was sad. \"Let's swim in the lake!\" said Tom. Wait, let me think again. Maybe he was not sad after all. Then"]));
    }
}
