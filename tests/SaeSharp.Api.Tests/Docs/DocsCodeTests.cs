using SaeSharp.Testing;

namespace SaeSharp.Api.Tests.Docs;

/// <summary>
/// The C# in README.md and in each package's PACKAGE.md (the readme nuget.org shows) is compiled here as a
/// complete program, so the documentation cannot drift from the API; the package examples, which train for a
/// few hundred steps, are also run. The README's quick start (2,500 steps) and the Testbeds example (which
/// trains a host for minutes) are compiled here and run by scripts/consumer-test.sh against the packed packages.
/// </summary>
[Collection("Docs")]
public sealed class DocsCodeTests
{
    private static readonly string[] Documents =
    [
        "README.md",
        "src/SaeSharp/PACKAGE.md",
        "src/SaeSharp.Harvest/PACKAGE.md",
        "src/SaeSharp.Crosscoders/PACKAGE.md",
        "src/SaeSharp.Testbeds/PACKAGE.md",
        "src/SaeSharp.Cli/PACKAGE.md",
    ];

    public static TheoryData<string, int> CSharpBlocks()
    {
        var data = new TheoryData<string, int>();
        foreach (var doc in Documents)
            foreach (var block in MarkdownCode.CSharpBlocks(RepositoryPaths.Root, doc))
                data.Add(doc, block.Line);
        return data;
    }

    [Theory]
    [MemberData(nameof(CSharpBlocks))]
    public void DocsCode_CSharpBlock_CompilesAsProgram(string document, int line)
    {
        var (image, diagnostics) = ProgramCompiler.Compile(Block(document, line));
        Assert.True(image is not null, $"{document}:{line} does not compile as a Program.cs:\n" + string.Join('\n', diagnostics));
    }

    [Fact]
    public void DocsCode_ReadmeFirstBlock_IsTheLibraryQuickStartProgram()
    {
        // The consumer test runs this block unchanged as Program.cs; it must stay the library quick start.
        var first = MarkdownCode.CSharpBlocks(RepositoryPaths.Root, "README.md").First();
        Assert.Contains("using SaeSharp;", first.Code, StringComparison.Ordinal);
        Assert.Contains("TrainAsync", first.Code, StringComparison.Ordinal);
        Assert.Contains("SaeCheckpoint.Load", first.Code, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("src/SaeSharp/PACKAGE.md")]
    [InlineData("src/SaeSharp.Crosscoders/PACKAGE.md")]
    public void DocsCode_PackageExample_Runs(string document)
    {
        var block = MarkdownCode.CSharpBlocks(RepositoryPaths.Root, document).Single();
        var (image, diagnostics) = ProgramCompiler.Compile(block);
        Assert.True(image is not null, string.Join('\n', diagnostics));
        ProgramCompiler.Run(image);
        ProgramCompiler.Run(image); // examples must run repeatedly (their output folder exists the second time)
    }

    [Fact]
    public void DocsCode_HarvestPackageExample_RunsOnTheFixtureModel()
    {
        // The example reads model.onnx, tokenizer.json and corpus.txt from the folder named by args[0].
        var folder = Directory.CreateTempSubdirectory("saesharp-docs-harvest").FullName;
        File.Copy(RepositoryPaths.Fixture("gptneo", "gptneo-decomposed.onnx"), Path.Combine(folder, "model.onnx"));
        File.Copy(RepositoryPaths.Fixture("gptneo", "tokenizer.json"), Path.Combine(folder, "tokenizer.json"));
        File.Copy(RepositoryPaths.Fixture("gptneo", "corpus.txt"), Path.Combine(folder, "corpus.txt"));
        var block = MarkdownCode.CSharpBlocks(RepositoryPaths.Root, "src/SaeSharp.Harvest/PACKAGE.md").Single();
        var (image, diagnostics) = ProgramCompiler.Compile(block);
        Assert.True(image is not null, string.Join('\n', diagnostics));
        ProgramCompiler.Run(image, folder);
        ProgramCompiler.Run(image, folder);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void DocsCode_BrokenBlock_IsReported()
    {
        // The checker itself must be able to fail: a call to a member that does not exist.
        var (image, diagnostics) = ProgramCompiler.Compile(new CodeBlock("test", 1, "csharp",
            "using SaeSharp;\nvar c = new SaeConfig(InputDim: 4, LatentCount: 8, new TopKArchitecture(K: 2));\nc.NoSuchMember();"));
        Assert.Null(image);
        Assert.Contains(diagnostics, d => d.Contains("CS1061", StringComparison.Ordinal));
    }

    private static CodeBlock Block(string document, int line) =>
        MarkdownCode.CSharpBlocks(RepositoryPaths.Root, document).Single(b => b.Line == line);
}
