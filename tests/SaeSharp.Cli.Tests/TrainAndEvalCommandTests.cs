namespace SaeSharp.Cli.Tests;

public sealed class TrainAndEvalCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string[] SmallTrain(string output, int k = 2, int seed = 3) =>
        ["train", "--source", "synthetic", "--d-in", "16", "--true-features", "32", "--active", "2", "--arch", "topk",
         "--latents", "32", "--k", $"{k}", "--steps", "30", "--batch-size", "64", "--seed", $"{seed}", "--out", output, "--json"];

    [Fact]
    public void Train_SyntheticJson_PrintsMetricsAndRecoveredFraction_ThenEvalReadsFolder()
    {
        var output = Path.Combine(_directory, "sae");
        var train = CliRunner.Run(SmallTrain(output));
        Assert.True(train.ExitCode == 0, train.StdErr);
        var json = train.Json;
        foreach (var key in new[] { "mse", "fvu", "l0", "dead_fraction", "recovered_fraction" })
            Assert.True(json.TryGetProperty(key, out _), $"train --json lacks {key}: {train.StdOut}");
        Assert.InRange(json.GetProperty("l0").GetDouble(), 0, 2);

        var eval = CliRunner.Run("eval", "--sae", output, "--json");
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        foreach (var key in new[] { "mse", "fvu", "l0", "dead_fraction" })
            Assert.True(eval.Json.TryGetProperty(key, out _), $"eval --json lacks {key}: {eval.StdOut}");
        Assert.Equal(32, eval.Json.GetProperty("d_sae").GetInt32());
    }

    [Fact]
    public void Train_IntoFolderHoldingAnSae_FailsWithoutForceAndChangesNothing()
    {
        var output = Path.Combine(_directory, "sae");
        Assert.Equal(0, CliRunner.Run(SmallTrain(output)).ExitCode);
        var before = Directory.GetFiles(output).ToDictionary(f => f, File.ReadAllBytes);

        var again = CliRunner.Run(SmallTrain(output, seed: 4));
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--force", again.StdErr);
        foreach (var (file, bytes) in before)
            Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    [Fact]
    public void Eval_TruncatedWeights_ExitsWithErrorNamingTheFile()
    {
        var output = Path.Combine(_directory, "sae");
        Assert.Equal(0, CliRunner.Run(SmallTrain(output)).ExitCode);
        var weights = Path.Combine(output, "sae_weights.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);

        var eval = CliRunner.Run("eval", "--sae", output, "--json");
        Assert.Equal(2, eval.ExitCode);
        Assert.Contains("sae_weights.safetensors", eval.StdErr);
        Assert.StartsWith("error:", eval.StdErr);
        Assert.DoesNotContain("   at ", eval.StdErr); // one clear line, no stack trace
    }

    [Fact]
    public void Train_BadK_ExitsWithErrorNamingTheField()
    {
        var result = CliRunner.Run(SmallTrain(Path.Combine(_directory, "bad"), k: 99));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("k = 99", result.StdErr);
    }
}
