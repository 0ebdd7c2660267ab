using static TorchSharp.torch;

namespace SaeSharp.Testing;

/// <summary>Helpers of the tests that resume runs written by the pre-engine code (tests/fixtures/legacy-checkpoints).</summary>
internal static class LegacyRuns
{
    /// <summary>A fixture run's folder (<c>stopped</c> or <c>expected</c> inside it).</summary>
    public static string Fixture(string run) => RepositoryPaths.Fixture("legacy-checkpoints", run);

    /// <summary>Copies a fixture folder's files, so that resuming it never writes into the repository.</summary>
    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    /// <summary>max |a − b| / max |b|: the largest difference relative to the tensor's scale.</summary>
    public static double RelativeDifference(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var a = actual.detach().to_type(ScalarType.Float64);
        var b = expected.to_type(ScalarType.Float64);
        return a.sub(b).abs().max().item<double>() / Math.Max(b.abs().max().item<double>(), double.Epsilon);
    }
}
