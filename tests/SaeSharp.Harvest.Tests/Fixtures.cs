using SaeSharp.Testing;
namespace SaeSharp.Harvest.Tests;

/// <summary>Paths of the committed fixtures (tests/fixtures) and of the fetched GPT-2 files.</summary>
internal static class Fixtures
{
    public static string Root => RepositoryPaths.Root;

    public static string Dir => Path.Combine(Root, "tests", "fixtures");
    public static string GptNeo(string file) => Path.Combine(Dir, "gptneo", file);
    public static string FusedModel => GptNeo("gptneo-fused.onnx");
    public static string DecomposedModel => GptNeo("gptneo-decomposed.onnx");
    public static string Gpt2(string file) => Path.Combine(Dir, "gpt2", file);

    /// <summary>Fails (never skips) when the fetched GPT-2 files are absent, saying how to get them.</summary>
    public static void RequireGpt2()
    {
        foreach (var f in new[] { "encoder.json", "vocab.bpe", "golden.json" })
            Assert.True(File.Exists(Gpt2(f)),
                $"{Gpt2(f)} is missing: run tests/fixtures/gpt2-golden/fetch.sh (needs node + npm; scripts/test.sh runs it) before the tests");
    }

    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "saesharp-harvest-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

}
