using System.Text;
using SaeSharp.Harvest.Corpus;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Harvest.Tokenization;
using SaeSharp.Testing;
using Xunit.Abstractions;

namespace SaeSharp.Harvest.Tests;

/// <summary>
/// Every file reader of the harvest package against mutated copies of valid files (the seeds are in
/// tests/fixtures/fuzz and tests/fixtures/gptneo): each reads or throws <see cref="SaeSharpException"/>.
/// </summary>
public sealed class ParserFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);
    private readonly string _directory = Fixtures.NewTempDir();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static byte[] Seed(string file) => File.ReadAllBytes(Path.Combine(Fixtures.Dir, "fuzz", file));

    private string Put(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void StoreManifest_Read_SeedIsValid() => Assert.Equal(2, ReadManifest(Seed("manifest.json")).Shards.Count);

    private StoreManifest ReadManifest(byte[] bytes)
    {
        Put("manifest.json", bytes);
        return StoreManifest.Read(_directory);
    }

    [Fact]
    public void StoreManifest_Read_MutatedManifests_ReadOrThrowSaeSharpException() =>
        Fuzz.Run([Seed("manifest.json")], 800, bytes => ReadManifest(bytes), Budget, log: output.WriteLine);

    [Fact]
    public void TokenIdsFile_Read_MutatedFiles_ReadOrThrowSaeSharpException() =>
        Fuzz.Run([Seed("token_ids.json"), File.ReadAllBytes(Fixtures.GptNeo("token_ids.json"))], 600, bytes => TokenIdsFile.Read(Put("ids.json", bytes)), Budget, log: output.WriteLine);

    [Fact]
    public void Gpt2Tokenizer_FromTokenizerJson_MutatedFiles_LoadOrThrowSaeSharpException() =>
        Fuzz.Run([File.ReadAllBytes(Fixtures.GptNeo("tokenizer.json"))], 500, bytes =>
        {
            var tokenizer = Gpt2Tokenizer.FromTokenizerJson(Put("tokenizer.json", bytes));
            tokenizer.Decode(tokenizer.Encode("Hello world, 12 cats."));
        }, Budget, log: output.WriteLine);

    [Fact]
    public void Gpt2Tokenizer_FromVocabAndMerges_MutatedFiles_LoadOrThrowSaeSharpException()
    {
        var vocab = File.ReadAllBytes(Fixtures.GptNeo("vocab.json"));
        var merges = File.ReadAllBytes(Fixtures.GptNeo("merges.txt"));
        Fuzz.Run([vocab, merges], 400, bytes =>
        {
            bool isVocab = bytes.Length > 0 && bytes[0] == (byte)'{';
            Put("vocab.json", isVocab ? bytes : vocab);
            Put("merges.txt", isVocab ? merges : bytes);
            var tokenizer = Gpt2Tokenizer.FromVocabAndMerges(Path.Combine(_directory, "vocab.json"), Path.Combine(_directory, "merges.txt"));
            tokenizer.Decode(tokenizer.Encode("Hello world, 12 cats."));
        }, Budget, log: output.WriteLine);
    }

    [Fact]
    public void OnnxGraph_Load_MutatedModels_LoadOrThrowSaeSharpException() =>
        Fuzz.Run([File.ReadAllBytes(Fixtures.GptNeo("no-residual.onnx"))], 400, bytes =>
        {
            var graph = OnnxGraph.Load(Put("model.onnx", bytes));
            _ = graph.TensorNames.Count;
            HookFinder.Find(graph);
        }, Budget, log: output.WriteLine);

    // Regressions, each found by the fuzzer or named in issue 13.

    [Theory]
    [InlineData("\"dtype\": \"f32\"", "\"dtype\": 1")]             // the enum converter reads numbers: 1 was f16
    [InlineData("\"dtype\": \"f32\"", "\"dtype\": \"f32, f16\"")]
    [InlineData("\"dtype\": \"f32\"", "\"dtype\": \"F32\"")]
    public void StoreManifest_Read_DTypeNotAnExactName_Throws(string from, string to)
    {
        var text = Encoding.UTF8.GetString(Seed("manifest.json"));
        Assert.Contains(from, text, StringComparison.Ordinal);
        var e = Assert.Throws<SaeSharpException>(() => ReadManifest(Encoding.UTF8.GetBytes(text.Replace(from, to, StringComparison.Ordinal))));
        Assert.Equal("dtype", e.Field);
    }

    [Theory]
    [InlineData("\"model\": {", "\"model\": null, \"x\": {", "model")]
    [InlineData("\"source\": {", "\"source\": null, \"x\": {", "input.source")]
    [InlineData("\"tensor\": \"", "\"tensor\": null, \"x\": \"", "hooks")]
    [InlineData("\"input\": {", "\"input\": null, \"x\": {", "input")]
    public void StoreManifest_Read_NullWhereAValueIsRequired_Throws(string from, string to, string field)
    {
        var text = Encoding.UTF8.GetString(Seed("manifest.json"));
        var e = Assert.Throws<SaeSharpException>(() => ReadManifest(Encoding.UTF8.GetBytes(ReplaceFirst(text, from, to))));
        Assert.Equal(field, e.Field);
    }

    private static string ReplaceFirst(string text, string from, string to)
    {
        int at = text.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, from);
        return text[..at] + to + text[(at + from.Length)..];
    }

    [Fact]
    public void StoreManifest_Read_RepeatedKey_Throws()
    {
        var text = Encoding.UTF8.GetString(Seed("manifest.json"));
        var e = Assert.Throws<SaeSharpException>(() => ReadManifest(Encoding.UTF8.GetBytes(ReplaceFirst(text, "{", "{\"rows\": 1, "))));
        Assert.Contains("rows", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[[1, \"2\"]]")] // TryGetInt32 on a string threw InvalidOperationException
    [InlineData("[[1, null]]")]
    [InlineData("[[1, \"\\ud800\"]]")]
    public void TokenIdsFile_Read_IdNotANumber_Throws(string json)
    {
        var e = Assert.Throws<SaeSharpException>(() => TokenIdsFile.Read(Put("ids.json", Encoding.UTF8.GetBytes(json))));
        Assert.Equal("token_ids_path", e.Field);
    }

    [Fact]
    public void TokenIdsFile_Read_InvalidUtf8_Throws()
    {
        var e = Assert.Throws<SaeSharpException>(() => TokenIdsFile.Read(Put("ids.json", [(byte)'[', (byte)'[', 0xFF, (byte)']', (byte)']'])));
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gpt2Tokenizer_FromVocabAndMerges_IdAsString_Throws()
    {
        // TryGetInt32 on a string threw InvalidOperationException.
        Put("vocab.json", Encoding.UTF8.GetBytes("{\"a\": 0, \"b\": \"1\"}"));
        Put("merges.txt", Encoding.UTF8.GetBytes("#version: 0.2\n"));
        var e = Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.FromVocabAndMerges(Path.Combine(_directory, "vocab.json"), Path.Combine(_directory, "merges.txt")));
        Assert.Equal("vocab[b]", e.Field);
    }

    [Fact]
    public void Gpt2Tokenizer_FromVocabAndMerges_MergesNotUtf8_Throws()
    {
        // File.ReadLines turned the bad byte into U+FFFD and built a different tokenizer without a word.
        Put("vocab.json", Encoding.UTF8.GetBytes("{\"a\": 0, \"b\": 1, \"ab\": 2}"));
        Put("merges.txt", [.. "#version: 0.2\na b\n"u8, 0xC3, (byte)' ', (byte)'b', (byte)'\n']);
        var e = Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.FromVocabAndMerges(Path.Combine(_directory, "vocab.json"), Path.Combine(_directory, "merges.txt")));
        Assert.Equal("merges", e.Field);
    }

    [Fact]
    public void Gpt2Tokenizer_FromTokenizerJson_AddedTokenIdAsString_Throws()
    {
        var json = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"content\": \"<x>\", \"id\": \"1\"}]}";
        var e = Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.FromTokenizerJson(Put("tokenizer.json", Encoding.UTF8.GetBytes(json))));
        Assert.Equal("added_tokens", e.Field);
    }

    [Fact]
    public void Gpt2Tokenizer_FromTokenizerJson_RepeatedVocabularyKey_Throws()
    {
        // A repeated token silently kept the last id.
        var json = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"a\": 1}, \"merges\": []}}";
        Assert.Throws<SaeSharpException>(() => Gpt2Tokenizer.FromTokenizerJson(Put("tokenizer.json", Encoding.UTF8.GetBytes(json))));
    }
}
