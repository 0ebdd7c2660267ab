namespace SaeSharp.Cli.Tests.Commands;

/// <summary>The harmonic-loss option and <c>analyze helix</c> refuse what they do not know with one <c>error:</c> line, before any host is trained.</summary>
public sealed class HelixCommandTests
{
    private static void AssertError((int Code, string Stdout, string Stderr) result, params string[] fragments)
    {
        Assert.Equal(2, result.Code);
        Assert.StartsWith("error: ", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
        foreach (var f in fragments) Assert.Contains(f, result.Stderr);
    }

    [Fact]
    public void TrainModAdd_UnknownLoss_IsRefusedListingTheLosses()
    {
        var dir = CliProcess.NewTempDir();
        AssertError(CliProcess.Run("host", "train-modadd", "--loss", "hinge", "--out", Path.Combine(dir, "h")), "--loss", "hinge", "cross-entropy", "harmonic");
        AssertError(CliProcess.Run("host", "train-modadd", "--harmonic-exponent", "2", "--out", Path.Combine(dir, "h")), "--harmonic-exponent", "--loss harmonic");
        Assert.False(Directory.Exists(Path.Combine(dir, "h")));
    }

    [Fact]
    public void AnalyzeHelix_UnknownHostLossOrPosition_IsRefused()
    {
        AssertError(CliProcess.Run("analyze", "helix", "--host", "gpt2"), "--host", "modadd");
        AssertError(CliProcess.Run("analyze", "helix", "--host", "modadd", "--loss", "mse"), "--loss", "harmonic");
        AssertError(CliProcess.Run("analyze", "helix", "--host", "modadd", "--positions", "2"), "--positions");
    }
}
