using System.Text.RegularExpressions;
using SaeSharp.Analysis;
using SaeSharp.Hosts;
using SaeSharp.Testbeds.Stories;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Tests.Stories;

[Collection("Torch")]
public sealed class StoryRelationsTests
{
    [Fact]
    public void StoryRelations_Pairs_CoverTheLexiconsThreeRelations()
    {
        var pairs = StoryRelations.Pairs();
        Assert.Equal(49, pairs.Count(p => p.Relation == StoryRelations.Plural)); // 22 animals + 28 objects, less fish/fish
        Assert.Equal(31, pairs.Count(p => p.Relation == StoryRelations.Past));
        Assert.Equal(20, pairs.Count(p => p.Relation == StoryRelations.Female));
        Assert.Contains(new StoryRelationPair(StoryRelations.Plural, "mouse", "mice"), pairs);
        Assert.Contains(new StoryRelationPair(StoryRelations.Past, "catch", "caught"), pairs);
        Assert.Contains(new StoryRelationPair(StoryRelations.Female, "dad", "mom"), pairs);
        Assert.All(pairs, p => Assert.NotEqual(p.First, p.Second));
    }

    /// <summary>
    /// Occurrences are whole words (" dog" but not the " dog" of " dogs"), counted the same way a regular expression
    /// counts them in the stories' text (the same seed generates the same stories); an unknown hook point is refused.
    /// </summary>
    [Fact]
    public void StoryRelations_WordVectors_CountsWholeWordsAndAveragesTheirResiduals()
    {
        const int stories = 40;
        var generated = new StoryGenerator(new StoryGeneratorOptions { Seed = 1 }).Generate(stories);
        var vocabulary = CompactVocabulary.FromSequences(generated.Select(s => s.TokenIds), 50257, 50256);
        using var model = new HostTransformer(new StoryHostOptions { Layers = 1, ModelDim = 16, Heads = 2, Window = 8 }.Host(vocabulary.Count), seed: 2);

        using var vectors = StoryRelations.WordVectors(model, vocabulary, HostHooks.ResidPre(0), stories, seed: 1, minOccurrences: 1);

        Assert.Equal(vectors.Pairs.Count, vectors.FirstPD.shape[0]);
        Assert.Equal([vectors.Pairs.Count, 16L], vectors.SecondPD.shape);
        Assert.Equal(3, vectors.Relations.Distinct().Count());
        string text = string.Join("\n", generated.Select(s => s.Text));
        for (int i = 0; i < vectors.Pairs.Count; i++)
        {
            var pair = vectors.Pairs[i];
            Assert.Equal(Regex.Count(text, $" {Regex.Escape(pair.First)}(?![A-Za-z])"), vectors.Occurrences[i].First);
            Assert.Equal(Regex.Count(text, $" {Regex.Escape(pair.Second)}(?![A-Za-z])"), vectors.Occurrences[i].Second);
        }
        Assert.True(vectors.FirstPD.isfinite().all().item<bool>());
        var error = Assert.Throws<SaeSharpException>(() => StoryRelations.WordVectors(model, vocabulary, "resid_post.9", 2));
        Assert.Contains("resid_post.9", error.Message + error.Field);
    }
}
