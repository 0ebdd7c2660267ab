using System.Text.Json;

namespace SaeSharp.Cli.Tests;

public sealed class TrainAndEvalCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static (int ExitCode, string StdOut, string StdErr, JsonElement Json) Run(params string[] args)
    {
        var (code, stdout, stderr) = CliProcess.Run(args);
        var json = code == 0 && stdout.TrimStart().StartsWith('{') ? JsonDocument.Parse(stdout).RootElement : default;
        return (code, stdout, stderr, json);
    }

    [Fact]
    public void Train_OnHarvestedStore_TrainsAndEvalReopensTheStore()
    {
        var store = Path.Combine(_directory, "store");
        var harvest = Run("harvest", "--model", CliProcess.Fixture("gptneo/gptneo-fused.onnx"), "--token-ids", CliProcess.Fixture("gptneo/token_ids.json"),
            "--hooks", "resid_post.1", "--context", "16", "--out", store, "--json");
        Assert.True(harvest.ExitCode == 0, harvest.StdErr);
        var output = Path.Combine(_directory, "sae");
        var train = Run("train", "--store", store, "--hook", "resid_post.1", "--arch", "topk", "--latents", "64", "--k", "4",
            "--steps", "20", "--batch-size", "16", "--out", output, "--json");
        Assert.True(train.ExitCode == 0, train.StdErr);
        Assert.Equal(20, train.Json.GetProperty("steps").GetInt32());
        var eval = Run("eval", "--sae", output, "--batches", "1", "--batch-size", "32", "--json");
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        Assert.True(eval.Json.GetProperty("fvu").GetDouble() < 1.5);
        var cfg = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "cfg.json"))).RootElement;
        // SAELens reads TransformerLens' name; ours stays beside it.
        Assert.Equal("blocks.1.hook_resid_post", cfg.GetProperty("metadata").GetProperty("hook_name").GetString());
        Assert.Equal("resid_post.1", cfg.GetProperty("metadata").GetProperty("saesharp_hook_name").GetString());
        Assert.Equal(16, cfg.GetProperty("metadata").GetProperty("context_size").GetInt32());
        Assert.False(cfg.GetProperty("metadata").GetProperty("prepend_bos").GetBoolean());
    }

    private static string[] SmallTrain(string output, int k = 2, long seed = 3) =>
        ["train", "--source", "synthetic", "--d-in", "16", "--true-features", "32", "--active", "2", "--arch", "topk",
         "--latents", "32", "--k", $"{k}", "--steps", "30", "--batch-size", "64", "--seed", $"{seed}", "--out", output, "--json"];

    [Theory]
    [InlineData(5_000_000_000L)]
    [InlineData(-7L)]
    public void Train_SeedBeyond32Bits_RunEvaluatesAndResumes(long seed)
    {
        var output = Path.Combine(_directory, $"seed{seed}");
        Assert.Equal(0, Run(SmallTrain(output, seed: seed)).ExitCode);
        var eval = Run(["eval", "--sae", output, "--json"]);
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        // A finished run resumes to report itself: the source is reopened from the recorded 64-bit seed.
        var resumed = Run(["train", "--resume", output, "--json"]);
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
    }

    [Fact]
    public void Train_SyntheticJson_PrintsMetricsAndRecoveredFraction_ThenEvalReadsFolder()
    {
        var output = Path.Combine(_directory, "sae");
        var train = Run(SmallTrain(output));
        Assert.True(train.ExitCode == 0, train.StdErr);
        var json = train.Json;
        foreach (var key in new[] { "mse", "fvu", "l0", "dead_fraction", "recovered_fraction" })
            Assert.True(json.TryGetProperty(key, out _), $"train --json lacks {key}: {train.StdOut}");
        Assert.InRange(json.GetProperty("l0").GetDouble(), 0, 2);
        // Progress goes to stderr whatever stdout carries: --json keeps stdout one object, not the user in the dark.
        Assert.Contains("train: 30/30 loss", train.StdErr);

        var eval = Run("eval", "--sae", output, "--json");
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        foreach (var key in new[] { "mse", "fvu", "l0", "dead_fraction" })
            Assert.True(eval.Json.TryGetProperty(key, out _), $"eval --json lacks {key}: {eval.StdOut}");
        Assert.Equal(32, eval.Json.GetProperty("d_sae").GetInt32());
        // One meaning of mse in both: per element on the raw activations (train's held-out rows are scaled in training).
        Assert.NotEqual(1.0, json.GetProperty("activation_scale").GetDouble(), 0.2);
        double ratio = json.GetProperty("mse").GetDouble() / eval.Json.GetProperty("mse").GetDouble();
        Assert.InRange(ratio, 0.5, 2.0);
    }

    [Fact]
    public void Train_IntoFolderHoldingAnSae_FailsWithoutForceAndChangesNothing()
    {
        var output = Path.Combine(_directory, "sae");
        Assert.Equal(0, Run(SmallTrain(output)).ExitCode);
        var before = Directory.GetFiles(output).ToDictionary(f => f, File.ReadAllBytes);

        var again = Run(SmallTrain(output, seed: 4));
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--force", again.StdErr);
        foreach (var (file, bytes) in before)
            Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    [Fact]
    public void Eval_TruncatedWeights_ExitsWithErrorNamingTheFile()
    {
        var output = Path.Combine(_directory, "sae");
        Assert.Equal(0, Run(SmallTrain(output)).ExitCode);
        var weights = Path.Combine(output, "sae_weights.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);

        var eval = Run("eval", "--sae", output, "--json");
        Assert.Equal(2, eval.ExitCode);
        Assert.Contains("sae_weights.safetensors", eval.StdErr);
        Assert.StartsWith("error:", eval.StdErr);
        Assert.DoesNotContain("   at ", eval.StdErr); // one clear line, no stack trace
    }

    [Fact]
    public void Train_BadK_ExitsWithErrorNamingTheField()
    {
        var result = Run(SmallTrain(Path.Combine(_directory, "bad"), k: 99));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("k = 99", result.StdErr);
    }
}
