using SaeSharp.Testing;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SaeSharp.Cli.Tests;

/// <summary>
/// The first-run command end to end (host from the cache or trained, ONNX export, harvest through ONNX Runtime,
/// SAE, ground truth, report), and the report opened in headless Chromium.
/// </summary>
[Collection(ModAddHostsCollection.Name)]
public sealed class DemoCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-demo-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Demo_Quick_WritesSummaryAndAReportThatRendersWithAllImages()
    {
        var output = Path.Combine(_directory, "demo");
        var demo = CliRunner.Run(["demo", "--quick", "--out", output, "--json"], TimeSpan.FromMinutes(30));
        Assert.True(demo.ExitCode == 0, demo.StdErr);

        var summary = demo.Json;
        Assert.True(summary.GetProperty("host").GetProperty("test_acc").GetDouble() >= 0.99);
        int keyCount = summary.GetProperty("host").GetProperty("key_frequencies").GetArrayLength();
        Assert.InRange(keyCount, 3, 8);
        foreach (var (section, key) in new[] { ("sae", "fvu"), ("sae", "l0"), ("sae", "dead_fraction"), ("ground_truth", "coverage"),
                     ("ground_truth", "purity"), ("spliced", "loss_clean"), ("spliced", "loss_sae"), ("spliced", "loss_zero") })
            Assert.True(summary.GetProperty(section).TryGetProperty(key, out _), $"summary lacks {section}.{key}");
        // The harvest through ONNX Runtime agrees with TorchSharp's forward on the same rows.
        Assert.True(summary.GetProperty("harvest").GetProperty("onnx_vs_torchsharp_max_abs_diff").GetDouble() < 1e-3);
        Assert.True(File.Exists(Path.Combine(output, "summary.json")));

        var html = Path.Combine(output, "report.html");
        int images = Regex.Matches(File.ReadAllText(html), "<img ").Count;
        Assert.True(images >= 8, $"the report has {images} figures");
        string dom = HeadlessChromium.Run(_directory, "--dump-dom", "--virtual-time-budget=10000", new Uri(html).AbsoluteUri);
        var loaded = Regex.Match(dom, "data-images-loaded=\"(\\d+)\"");
        var total = Regex.Match(dom, "data-images-total=\"(\\d+)\"");
        Assert.True(loaded.Success && total.Success, "the report's load script did not run in Chromium");
        Assert.Equal(images.ToString(), total.Groups[1].Value);
        Assert.Equal(total.Groups[1].Value, loaded.Groups[1].Value);

        // A screenshot for people to look at, kept beside the report and in the repository's artifacts folder.
        var screenshot = Path.Combine(output, "screenshots", "report.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        HeadlessChromium.Run(_directory, $"--screenshot={screenshot}", "--window-size=1200,2400", new Uri(html).AbsoluteUri);
        Assert.True(new FileInfo(screenshot).Length > 10_000);
        var artifacts = Path.Combine(CliProcess.Root, "artifacts");
        Directory.CreateDirectory(artifacts);
        File.Copy(screenshot, Path.Combine(artifacts, "demo-report.png"), overwrite: true);
    }
}
