namespace SaeSharp.Cli.Tests.Output;

/// <summary>
/// Compares text with a committed file under <c>tests/SaeSharp.Cli.Tests/Output/snapshots/</c>. Run the tests with
/// <c>SAESHARP_UPDATE_SNAPSHOTS=1</c> to write the files afresh, then review and commit the diff.
/// </summary>
internal static class Snapshot
{
    public const string UpdateVariable = "SAESHARP_UPDATE_SNAPSHOTS";

    public static string Folder { get; } = Path.Combine(CliProcess.Root, "tests", "SaeSharp.Cli.Tests", "Output", "snapshots");

    public static void Match(string fileName, string actual)
    {
        actual = Normalize(actual);
        var path = Path.Combine(Folder, fileName);
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(Folder);
            File.WriteAllText(path, actual);
            return;
        }
        var how = $"if the change is intended, run `{UpdateVariable}=1 dotnet test tests/SaeSharp.Cli.Tests --filter FullyQualifiedName~Snapshot`, " +
            $"review the diff of {Path.GetRelativePath(CliProcess.Root, path)} and commit it";
        Assert.True(File.Exists(path), $"no snapshot {path}; {how}.\nactual:\n{actual}");
        var expected = Normalize(File.ReadAllText(path));
        Assert.True(expected == actual, $"{fileName} differs from its snapshot; {how}.\nexpected:\n{expected}\nactual:\n{actual}");
    }

    /// <summary>LF line ends, no trailing spaces (help pads its columns), one final newline: what an editor may not change.</summary>
    private static string Normalize(string text) =>
        string.Join("\n", text.ReplaceLineEndings("\n").Split('\n').Select(line => line.TrimEnd())).TrimEnd('\n') + "\n";
}
