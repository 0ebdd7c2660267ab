using SaeSharp.Harvest.Corpus;
using SaeSharp.Harvest.Tokenization;

namespace SaeSharp.Harvest.Tests.Corpus;

public sealed class CorpusTests
{
    private static Gpt2Tokenizer Tiny() => Gpt2Tokenizer.Load(Fixtures.GptNeo("tokenizer.json"));

    [Fact]
    public void Open_TextWithEndOfText_SplitsDocumentsAndSkipsBlankOnes()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "c.txt");
        File.WriteAllText(path, "first story\n<|endoftext|>\n \n<|endoftext|>second<|endoftext|>third\r\n<|endoftext|>");
        using var corpus = DocumentCorpus.Open(path, CorpusFormat.Text);
        Assert.Equal(3, corpus.Count);
        Assert.Equal("first story\n", corpus.Read(0));
        Assert.Equal("second", corpus.Read(1));
        Assert.Equal("third\r\n", corpus.Read(2));
    }

    [Fact]
    public void Open_SeparatorAcrossReadBuffers_FoundOnce()
    {
        // The indexer reads 1 MiB at a time; put a separator across the boundary.
        var path = Path.Combine(Fixtures.NewTempDir(), "big.txt");
        var first = new string('a', (1 << 20) - 5);
        File.WriteAllText(path, first + "<|endoftext|>" + "tail");
        using var corpus = DocumentCorpus.Open(path, CorpusFormat.Text);
        Assert.Equal(2, corpus.Count);
        Assert.Equal(first, corpus.Read(0));
        Assert.Equal("tail", corpus.Read(1));
    }

    [Fact]
    public void Open_JsonLinesAndLines_ReadTheTextField()
    {
        var dir = Fixtures.NewTempDir();
        var jsonl = Path.Combine(dir, "c.jsonl");
        File.WriteAllText(jsonl, "{\"text\": \"héllo\", \"id\": 1}\n\n{\"body\": \"x\", \"text\": \"two\\nlines\"}\n");
        using (var corpus = DocumentCorpus.Open(jsonl, CorpusFormat.JsonLines))
        {
            Assert.Equal(2, corpus.Count);
            Assert.Equal("héllo", corpus.Read(0));
            Assert.Equal("two\nlines", corpus.Read(1));
        }
        using (var corpus = DocumentCorpus.Open(jsonl, CorpusFormat.JsonLines, "body"))
        {
            var e = Assert.Throws<SaeSharpException>(() => corpus.Read(0));
            Assert.Contains("line 1 has no string field `body`", e.Message);
        }
        File.WriteAllText(jsonl, "{\"text\": \"ok\"}\n{broken\n");
        using (var corpus = DocumentCorpus.Open(jsonl, CorpusFormat.JsonLines))
            Assert.Contains("line 2 is not valid JSON", Assert.Throws<SaeSharpException>(() => corpus.Read(1)).Message);
        var lines = Path.Combine(dir, "c.lines");
        File.WriteAllText(lines, "one\r\n\ntwo\nthree");
        using (var corpus = DocumentCorpus.Open(lines, CorpusFormat.Lines))
            Assert.Equal(new[] { "one", "two", "three" }, Enumerable.Range(0, 3).Select(i => corpus.Read(i)));
    }

    [Fact]
    public void Open_EmptyCorpus_ClearError()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "empty.txt");
        File.WriteAllText(path, "  \n<|endoftext|>\n\n");
        var e = Assert.Throws<SaeSharpException>(() => DocumentCorpus.Open(path, CorpusFormat.Text));
        Assert.Contains("the corpus is empty", e.Message);
        Assert.Contains("not found", Assert.Throws<SaeSharpException>(() => DocumentCorpus.Open(path + ".nope", CorpusFormat.Text)).Message);
    }

    [Fact]
    public void Next_FileOrder_IsTheDocumentsTokensWithEosCutIntoContexts()
    {
        var tokenizer = Tiny();
        using var corpus = DocumentCorpus.Open(Fixtures.GptNeo("corpus.txt"), CorpusFormat.Text);
        var stream = new List<int>();
        for (int i = 0; i < corpus.Count; i++)
        {
            stream.Add(356);
            stream.AddRange(tokenizer.Encode(corpus.Read(i)));
            stream.Add(356);
        }
        var packer = new ContextPacker(corpus, tokenizer, new PackingOptions { ContextLength = 16, BosId = 356, EosId = 356 });
        var contexts = new List<int[]>();
        for (int[]? c; (c = packer.Next()) is not null;) contexts.Add(c);
        Assert.Equal(stream.Count / 16, contexts.Count); // the partial tail is dropped
        Assert.Equal(stream.Take(contexts.Count * 16), contexts.SelectMany(c => c));
    }

    [Fact]
    public void Seek_SavedCursor_ContinuesExactlyAndSeedGivesAnotherFixedOrder()
    {
        var tokenizer = Tiny();
        using var corpus = DocumentCorpus.Open(Fixtures.GptNeo("corpus.txt"), CorpusFormat.Text);
        var options = new PackingOptions { ContextLength = 7, EosId = 356, Seed = 42 };
        List<int[]> All(ContextPacker p)
        {
            var list = new List<int[]>();
            for (int[]? c; (c = p.Next()) is not null;) list.Add(c);
            return list;
        }
        var uninterrupted = All(new ContextPacker(corpus, tokenizer, options));
        var first = new ContextPacker(corpus, tokenizer, options);
        var head = new List<int[]> { first.Next()!, first.Next()!, first.Next()! };
        var resumed = new ContextPacker(corpus, tokenizer, options);
        resumed.Seek(first.Cursor);
        Assert.Equal(uninterrupted, head.Concat(All(resumed)).ToList());
        Assert.Equal(uninterrupted, All(new ContextPacker(corpus, tokenizer, options)));
        var fileOrder = All(new ContextPacker(corpus, tokenizer, options with { Seed = null }));
        Assert.NotEqual(fileOrder.SelectMany(c => c), uninterrupted.SelectMany(c => c));
        Assert.Throws<SaeSharpException>(() => resumed.Seek(new CorpusCursor(99, 0)));
    }

    [Fact]
    public void TokenIdsFile_Read_ChecksShape()
    {
        var dir = Fixtures.NewTempDir();
        Assert.Equal(new[] { 5, 17, 300 }, TokenIdsFile.Read(Fixtures.GptNeo("token_ids.json"))[0][..3]);
        var bad = Path.Combine(dir, "bad.json");
        foreach (var (text, message) in new[] { ("[]", "holds no sequence"), ("[[1, 2], []]", "sequence 1"), ("[[1, -3]]", "position 1"), ("{\"a\": 1}", "not a JSON array"), ("[[1,", "not valid JSON") })
        {
            File.WriteAllText(bad, text);
            Assert.Contains(message, Assert.Throws<SaeSharpException>(() => TokenIdsFile.Read(bad)).Message);
        }
    }
}
