namespace SaeSharp.Testing;

/// <summary>
/// The repository's own folders, found by walking up from the test binaries to <c>SaeSharp.sln</c>, so that tests
/// read the committed fixtures wherever the test host runs them from.
/// </summary>
internal static class RepositoryPaths
{
    /// <summary>The folder holding <c>SaeSharp.sln</c>.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>A path under <c>tests/fixtures</c>.</summary>
    public static string Fixture(params string[] parts) => Path.Combine([Root, "tests", "fixtures", .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SaeSharp.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root (SaeSharp.sln) not found above " + AppContext.BaseDirectory);
    }
}
