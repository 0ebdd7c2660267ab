using System.Text.Json;
using SaeSharp.Crosscoders;

namespace SaeSharp.Cli.Tests.Commands;

/// <summary><c>saesharp crosscoder train</c> on a real harvested store: two layers of one model as paired sources.</summary>
public sealed class CrosscoderCommandTests
{
    private static string Fused => CliProcess.Fixture("gptneo/gptneo-fused.onnx");

    [Fact]
    public void CrosscoderTrain_TwoHooksOfOneStore_WritesLoadableCrosscoderAndResumesToTheSameWeights()
    {
        var dir = CliProcess.NewTempDir();
        var store = Path.Combine(dir, "store");
        var harvest = CliProcess.Run("harvest", "--model", Fused, "--token-ids", CliProcess.Fixture("gptneo/token_ids.json"),
            "--hooks", "all", "--context", "16", "--batch-size", "3", "--out", store, "--json");
        Assert.True(harvest.ExitCode == 0, harvest.Stderr);
        var hooks = JsonDocument.Parse(File.ReadAllText(Path.Combine(store, "manifest.json"))).RootElement.GetProperty("hooks")
            .EnumerateArray().Select(h => h.GetProperty("name").GetString()!).ToArray();
        string sources = $"{hooks[0]},{hooks[^1]}";
        string[] common = ["crosscoder", "train", "--store", store, "--sources", sources, "--latents", "16", "--k", "2",
            "--steps", "12", "--batch-size", "8", "--checkpoint-every", "0", "--json"];

        var full = Path.Combine(dir, "full");
        var run = CliProcess.Run([.. common, "--out", full]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var report = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(12, report.GetProperty("steps").GetInt64());
        Assert.Equal(2, report.GetProperty("source_fvu").GetArrayLength());
        using var loaded = CrosscoderCheckpoint.Load(full);
        Assert.Equal([hooks[0], hooks[^1]], loaded.Crosscoder.Config.SourceNames!);
        Assert.Equal(2, loaded.SourceScales.Count);

        // The same folder again without --force is refused and left as it was.
        var before = CliProcess.Snapshot(full);
        var again = CliProcess.Run([.. common, "--out", full]);
        Assert.Equal(2, again.ExitCode);
        Assert.StartsWith("error: ", again.Stderr);
        CliProcess.AssertSameFiles(before, CliProcess.Snapshot(full));

        // Unknown hook: one clear error.
        var bad = CliProcess.Run("crosscoder", "train", "--store", store, "--sources", $"{hooks[0]},nope", "--json");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("nope", bad.Stderr);
    }
}
