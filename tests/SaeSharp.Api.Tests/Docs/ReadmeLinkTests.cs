using SaeSharp.Testing;

namespace SaeSharp.Api.Tests.Docs;

/// <summary>
/// The README is read from a clone, an archive or a package page: every link must lead to a file of the
/// repository, never to a page outside it that can move or vanish.
/// </summary>
public sealed class ReadmeLinkTests
{
    [Fact]
    public void Readme_Links_PointToFilesInTheRepository()
    {
        var targets = MarkdownCode.LinkTargets(RepositoryPaths.Root, "README.md");
        Assert.NotEmpty(targets);
        foreach (var target in targets)
        {
            Assert.False(target.Contains("://", StringComparison.Ordinal) || target.StartsWith("//", StringComparison.Ordinal)
                || target.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase),
                $"README.md links outside the repository: {target}");
            var path = target.Split('#', 2)[0];
            if (path.Length == 0) continue; // an anchor in the README itself
            var full = Path.GetFullPath(Path.Combine(RepositoryPaths.Root, Uri.UnescapeDataString(path)));
            Assert.True(full.StartsWith(RepositoryPaths.Root + Path.DirectorySeparatorChar, StringComparison.Ordinal),
                $"README.md links above the repository root: {target}");
            Assert.True(File.Exists(full) || Directory.Exists(full), $"README.md links to a missing file: {target}");
        }
    }

    [Fact]
    public void Readme_Text_HasNoBareAddresses()
    {
        Assert.Empty(MarkdownCode.BareAddresses(RepositoryPaths.Root, "README.md"));
    }

    [Fact]
    public void LinkTargets_ExternalLink_IsFound()
    {
        // The checker must see what it is meant to refuse.
        var folder = Directory.CreateTempSubdirectory("saesharp-links").FullName;
        File.WriteAllText(Path.Combine(folder, "x.md"), "see [the site](https://example.org/x) and `[code](https://a.b)`\n");
        Assert.Equal(["https://example.org/x"], MarkdownCode.LinkTargets(folder, "x.md"));
        Assert.Equal(["https://example.org/x"], MarkdownCode.BareAddresses(folder, "x.md"));
        Directory.Delete(folder, recursive: true);
    }
}
