using SaeSharp.Testing;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SaeSharp.Cli.Tests;

/// <summary>
/// <c>saesharp demo --host stories --quick</c> end to end (a small story host trained or taken from the cache, harvest of
/// unseen stories through ONNX Runtime with labels beside the store, SAE, label scores, spliced loss, dashboard), the
/// dashboard opened in headless Chromium, and the command's refusals.
/// </summary>
[Collection(ModAddHostsCollection.Name)]
public sealed class StoryDemoCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-story-demo-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void DemoStories_Quick_WritesSummaryStoreLabelsAndADashboardThatRendersEveryFigure()
    {
        var output = Path.Combine(_directory, "stories");
        var demo = CliRunner.Run(["demo", "--host", "stories", "--quick", "--out", output, "--json"], TimeSpan.FromMinutes(20));
        Assert.True(demo.ExitCode == 0, demo.StdErr);
        // Progress goes to stderr stage by stage, even with --json.
        foreach (var stage in new[] { "harvest", "sae", "scoring", "splice", "dashboard" })
            Assert.Contains($" {stage}", demo.StdErr, StringComparison.Ordinal);

        var summary = demo.Json;
        foreach (var key in new[] { "val_loss", "consistency_accuracy", "labels_total", "labels_covered", "coverage", "loss_recovered" })
            Assert.True(summary.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Number, $"summary lacks the number {key}");
        Assert.True(summary.GetProperty("sae").GetProperty("fvu").GetDouble() is > 0 and < 1);
        Assert.InRange(summary.GetProperty("sae").GetProperty("l0").GetDouble(), 1, 16);

        // Every label of the generator is in the table (the self-reflection labels too, unscored: the demo's stories
        // have none); coverage is what the table says.
        var labels = summary.GetProperty("labels").EnumerateArray().ToArray();
        Assert.Equal(SaeSharp.Testbeds.Stories.StoryLabels.Names.Count, labels.Length);
        foreach (var reflection in labels.Where(l => l.GetProperty("name").GetString()!.StartsWith("reflection", StringComparison.Ordinal)))
            Assert.False(reflection.GetProperty("scored").GetBoolean(), $"{reflection.GetProperty("name").GetString()} is scored");
        int total = summary.GetProperty("labels_total").GetInt32(), covered = summary.GetProperty("labels_covered").GetInt32();
        Assert.Equal(labels.Count(l => l.GetProperty("scored").GetBoolean()), total);
        Assert.Equal(labels.Count(l => l.GetProperty("scored").GetBoolean() && l.GetProperty("f1").GetDouble() >= 0.8), covered);
        Assert.InRange(total, 10, 32);
        Assert.Equal((double)covered / total, summary.GetProperty("coverage").GetDouble(), 12);

        // The spliced losses are ordered as they must be for any host that learned something, and the fraction follows from them.
        var spliced = summary.GetProperty("spliced");
        double clean = spliced.GetProperty("loss_clean").GetDouble(), sae = spliced.GetProperty("loss_sae").GetDouble(), zero = spliced.GetProperty("loss_zero").GetDouble();
        Assert.True(clean < zero, $"clean {clean} vs zero-ablated {zero}");
        Assert.Equal((zero - sae) / (zero - clean), summary.GetProperty("loss_recovered").GetDouble(), 9);
        Assert.True(spliced.GetProperty("tokens").GetInt64() > 1000);

        // The paths exist: host with its ONNX export, store with one labelled row per token, SAE folder, dashboard.
        Assert.True(File.Exists(Path.Combine(summary.GetProperty("host_path").GetString()!, "model.onnx")));
        var store = summary.GetProperty("store_path").GetString()!;
        Assert.True(File.Exists(Path.Combine(store, "manifest.json")) && File.Exists(Path.Combine(store, "labels.bin")));
        Assert.True(File.Exists(Path.Combine(summary.GetProperty("sae_path").GetString()!, "cfg.json")));
        Assert.Equal(demo.StdOut.Trim(), File.ReadAllText(Path.Combine(output, "summary.json")).Trim());

        var html = summary.GetProperty("dashboard_path").GetString()!;
        int shown = summary.GetProperty("dashboard_latents").GetArrayLength();
        Assert.InRange(shown, 10, 64);
        Assert.Equal(shown, Regex.Matches(File.ReadAllText(html), "<svg class=\"histogram\"").Count);
        string dom = HeadlessChromium.Run(_directory, "--dump-dom", "--virtual-time-budget=10000", new Uri(html).AbsoluteUri);
        int Data(string name)
        {
            var match = Regex.Match(dom, $"data-{name}=\"(\\d+)\"");
            Assert.True(match.Success, $"the dashboard's counting script did not set data-{name} in Chromium");
            return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.Equal(shown, Data("panel-count"));
        Assert.Equal(shown, Data("svg-count"));
        Assert.True(Data("token-count") > shown);
    }

    [Fact]
    public void DemoStories_LayerOutsideTheHost_OneErrorLineAndNothingWritten()
    {
        var output = Path.Combine(_directory, "bad-layer");
        var demo = CliRunner.Run("demo", "--host", "stories", "--layer", "4", "--out", output);
        Assert.Equal(2, demo.ExitCode);
        var line = Assert.Single(demo.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line, StringComparison.Ordinal);
        Assert.Contains("--layer", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void DemoStories_NonEmptyOutWithoutForce_RefusedAndLeftAlone()
    {
        var output = Path.Combine(_directory, "taken");
        Directory.CreateDirectory(output);
        var mine = Path.Combine(output, "mine.txt");
        File.WriteAllText(mine, "keep");
        var demo = CliRunner.Run("demo", "--host", "stories", "--quick", "--out", output);
        Assert.Equal(2, demo.ExitCode);
        Assert.StartsWith("error:", demo.StdErr, StringComparison.Ordinal);
        Assert.Contains("--force", demo.StdErr, StringComparison.Ordinal);
        Assert.Equal(["mine.txt"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        Assert.Equal("keep", File.ReadAllText(mine));
    }

    [Fact]
    public void Demo_LayerWithModAdd_Refused()
    {
        var demo = CliRunner.Run("demo", "--layer", "1", "--out", Path.Combine(_directory, "modadd"));
        Assert.Equal(2, demo.ExitCode);
        Assert.Contains("--layer", demo.StdErr, StringComparison.Ordinal);
    }
}
