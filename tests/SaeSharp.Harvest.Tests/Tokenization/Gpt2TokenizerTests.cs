using System.Text.Json;
using System.Text.Json.Nodes;
using SaeSharp.Harvest.Tokenization;

namespace SaeSharp.Harvest.Tests.Tokenization;

public sealed class Gpt2TokenizerTests
{
    private static readonly Lazy<Gpt2Tokenizer> Real = new(() =>
    {
        Fixtures.RequireGpt2();
        return Gpt2Tokenizer.FromVocabAndMerges(Fixtures.Gpt2("encoder.json"), Fixtures.Gpt2("vocab.bpe"));
    });

    private static List<(string Text, int[] Ids)> Golden()
    {
        Fixtures.RequireGpt2();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Gpt2("golden.json")));
        return doc.RootElement.EnumerateArray()
            .Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))
            .ToList();
    }

    [Fact]
    public void Encode_TrickyStrings_MatchReferenceJavaScriptEncoder()
    {
        var golden = Golden();
        Assert.True(golden.Count >= 25, "golden file holds too few strings");
        var mismatches = golden.Where(g => !Real.Value.Encode(g.Text).SequenceEqual(g.Ids))
            .Select(g => $"{JsonSerializer.Serialize(g.Text)}: expected [{string.Join(",", g.Ids)}] got [{string.Join(",", Real.Value.Encode(g.Text))}]")
            .ToList();
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void Encode_RealVocabulary_IdsBelowVocabSizeAndDecodeRoundTrips()
    {
        var tokenizer = Real.Value;
        Assert.Equal(50257, tokenizer.VocabSize);
        foreach (var (text, _) in Golden())
        {
            var ids = tokenizer.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, 50256));
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Encode_EndOfText_IsOneSpecialId()
    {
        var tokenizer = Real.Value;
        Assert.Equal(50256, tokenizer.EndOfTextId);
        var ids = tokenizer.Encode("The end.<|endoftext|>Once upon");
        var expected = tokenizer.Encode("The end.").Append(50256).Concat(tokenizer.Encode("Once upon")).ToArray();
        Assert.Equal(expected, ids);
        Assert.Equal(new[] { 50256 }, tokenizer.Encode(Gpt2Tokenizer.EndOfText));
    }

    [Fact]
    public void Gpt2_BuiltIn_SameIdsAsLoadedFilesAndReferenceEncoder()
    {
        var builtIn = Gpt2Tokenizer.Gpt2();
        Assert.Equal(50257, builtIn.VocabSize);
        Assert.Equal(50256, builtIn.EndOfTextId);
        Assert.Equal(Gpt2Tokenizer.BuiltInName, builtIn.Source);
        Assert.Same(builtIn, Gpt2Tokenizer.Gpt2());
        var mismatches = Golden().Where(g => !builtIn.Encode(g.Text).SequenceEqual(g.Ids) || !builtIn.Encode(g.Text).SequenceEqual(Real.Value.Encode(g.Text)))
            .Select(g => $"{JsonSerializer.Serialize(g.Text)}: expected [{string.Join(",", g.Ids)}] got [{string.Join(",", builtIn.Encode(g.Text))}]")
            .ToList();
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        foreach (var (text, ids) in Golden()) Assert.Equal(text, builtIn.Decode(ids));
        var joined = "The end.<|endoftext|>Once upon";
        Assert.Equal(Real.Value.Encode(joined), builtIn.Encode(joined));
        Assert.Equal(new[] { 50256 }, builtIn.Encode(Gpt2Tokenizer.EndOfText));
        Assert.Same(builtIn, Gpt2Tokenizer.Open("gpt2"));
        Assert.Equal(Gpt2Tokenizer.Load(Fixtures.GptNeo("vocab.json")).VocabSize, Gpt2Tokenizer.Open(Fixtures.GptNeo("vocab.json")).VocabSize);
    }

    [Fact]
    public void Encode_WhitespaceRuns_StayInsideGpt2Vocabulary()
    {
        // CodeGenTokenizer emits ids >= 50257 for runs of spaces; this tokenizer must not.
        var ids = Real.Value.Encode("a" + new string(' ', 40) + "b\n" + new string('\t', 9) + "c");
        Assert.All(ids, id => Assert.InRange(id, 0, 50256));
    }

    [Fact]
    public void FromTokenizerJson_BuiltFromSameVocabAndMerges_GivesSameIds()
    {
        Fixtures.RequireGpt2();
        var dir = Fixtures.NewTempDir();
        var vocab = JsonNode.Parse(File.ReadAllText(Fixtures.Gpt2("encoder.json")))!;
        var merges = File.ReadAllLines(Fixtures.Gpt2("vocab.bpe")).Skip(1).Where(l => l.Length > 0).ToArray();
        // Newer tokenizer.json files write merges as pairs; use that form for half of them to cover both.
        var mergeArray = new JsonArray(merges.Select((m, i) => i % 2 == 0 ? (JsonNode)JsonValue.Create(m)!
            : new JsonArray(JsonValue.Create(m.Split(' ')[0]), JsonValue.Create(m.Split(' ')[1]))).ToArray());
        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 50256, ["content"] = "<|endoftext|>", ["special"] = true }),
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = mergeArray },
        };
        var path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        var fromJson = Gpt2Tokenizer.Load(path);
        Assert.Equal(50257, fromJson.VocabSize);
        foreach (var (text, ids) in Golden())
            Assert.Equal(ids, fromJson.Encode(text));
        Assert.Equal(new[] { 50256 }, fromJson.Encode("<|endoftext|>"));
    }

    [Fact]
    public void Load_FixtureFolder_TokenizerJsonAndVocabMergesAgree()
    {
        var fromJson = Gpt2Tokenizer.Load(Fixtures.GptNeo("tokenizer.json"));
        var fromFiles = Gpt2Tokenizer.FromVocabAndMerges(Fixtures.GptNeo("vocab.json"), Fixtures.GptNeo("merges.txt"));
        var corpus = File.ReadAllText(Fixtures.GptNeo("corpus.txt"));
        var ids = fromFiles.Encode(corpus);
        Assert.Equal(ids, fromJson.Encode(corpus));
        Assert.Equal(357, fromFiles.VocabSize);
        Assert.Equal(356, fromFiles.EndOfTextId);
        Assert.Equal(5, ids.Count(i => i == 356)); // six stories, five separators
        Assert.True(ids.Length < corpus.Length / 2, "the trained merges should compress the corpus they were trained on");
        Assert.Equal(corpus, fromFiles.Decode(ids));
    }

    [Fact]
    public void Load_MissingOrMismatchedFiles_ClearErrors()
    {
        var dir = Fixtures.NewTempDir();
        var e1 = Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.Load(Path.Combine(dir, "nope.json")));
        Assert.Contains("not found", e1.Message);
        var e2 = Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.Load(dir));
        Assert.Contains("neither tokenizer.json nor vocab.json", e2.Message);
        File.Copy(Fixtures.GptNeo("vocab.json"), Path.Combine(dir, "vocab.json"));
        var e3 = Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.Load(dir));
        Assert.Contains("merges.txt not found", e3.Message);
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nĠ zz\n");
        var e4 = Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.Load(dir));
        Assert.Contains("do not belong together", e4.Message);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{ not json");
        var e5 = Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.Load(dir));
        Assert.Contains("not valid JSON", e5.Message);
    }
}
