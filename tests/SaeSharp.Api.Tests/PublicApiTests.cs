using SaeSharp.Testing;
using System.Reflection;
using PublicApiGenerator;

namespace SaeSharp.Api.Tests;

/// <summary>
/// The public surface of each shipped package, compared with the snapshot committed under
/// <c>tests/SaeSharp.Api.Tests/api/&lt;Assembly&gt;.txt</c>. A change to the public API fails here until the
/// snapshot is updated in the same commit, so every API change shows up in review as a diff of that file.
/// To accept a change: <c>bash scripts/update-api.sh</c> (runs these tests with <c>SAESHARP_UPDATE_API=1</c>,
/// which rewrites the snapshots instead of failing), then review and commit the diff.
/// </summary>
public sealed class PublicApiTests
{
    private const string UpdateVariable = "SAESHARP_UPDATE_API";

    [Theory]
    [InlineData("SaeSharp")]
    [InlineData("SaeSharp.Harvest")]
    [InlineData("SaeSharp.Crosscoders")]
    [InlineData("SaeSharp.Testbeds")]
    public void PublicApi_Assembly_MatchesSnapshot(string assemblyName)
    {
        var assembly = Assembly.Load(assemblyName);
        string actual = Normalize(assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // The informational version carries the commit hash; the snapshot must not change per commit.
            ExcludeAttributes = ["System.Reflection.AssemblyInformationalVersionAttribute"],
        }));
        string snapshotPath = Path.Combine(TestProjectDirectory(), "api", assemblyName + ".txt");
        string relativePath = $"tests/SaeSharp.Api.Tests/api/{assemblyName}.txt";

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(snapshotPath)!);
            File.WriteAllText(snapshotPath, actual);
            return;
        }

        Assert.True(File.Exists(snapshotPath),
            $"No public-API snapshot for {assemblyName} at {relativePath}. Create it with `bash scripts/update-api.sh` " +
            "and commit it.");
        string expected = Normalize(File.ReadAllText(snapshotPath));
        if (expected == actual) return;

        Assert.Fail(
            $"The public API of {assemblyName} differs from {relativePath}. If the change is intended, run " +
            $"`bash scripts/update-api.sh` (or set {UpdateVariable}=1 and run this test) and commit the updated file.\n" +
            FirstDifference(expected, actual));
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n").TrimEnd('\n') + "\n";

    private static string FirstDifference(string expected, string actual)
    {
        string[] e = expected.Split('\n'), a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string el = i < e.Length ? e[i] : "<end of file>";
            string al = i < a.Length ? a[i] : "<end of file>";
            if (el != al) return $"First difference at line {i + 1}:\n  snapshot: {el}\n  actual:   {al}";
        }
        return "";
    }

    /// <summary>This project's source folder.</summary>
    private static string TestProjectDirectory() => Path.Combine(RepositoryPaths.Root, "tests", "SaeSharp.Api.Tests");
}
