using System.Text.Json;

namespace SaeSharp.Cli.Tests.Commands;

/// <summary><c>saesharp analyze geometry</c> end to end: the real tool on trained SAEs, a harvested store, figures under --out.</summary>
public sealed class GeometryCommandTests : IDisposable
{
    private readonly string _directory = CliProcess.NewTempDir();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Geometry_SyntheticSae_PrintsPowerLawAndWritesFigures_RefusesToOverwrite()
    {
        var sae = Path.Combine(_directory, "sae");
        var train = CliProcess.Run("train", "--source", "synthetic", "--d-in", "16", "--true-features", "32", "--active", "2", "--source-seed", "3",
            "--arch", "topk", "--latents", "64", "--k", "2", "--steps", "30", "--batch-size", "64", "--seed", "3", "--out", sae, "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);
        var figures = Path.Combine(_directory, "figures");

        var run = CliProcess.Run("analyze", "geometry", "--sae", sae, "--out", figures, "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var json = JsonDocument.Parse(run.Stdout).RootElement;
        // 64 rows of width 16: the automatic range is [2, min(150, 16 / 2)].
        Assert.Equal([2, 8], json.GetProperty("rank_range").EnumerateArray().Select(e => e.GetInt32()));
        double alpha = json.GetProperty("power_law_alpha").GetDouble();
        var interval = json.GetProperty("power_law_alpha_interval").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.True(interval[0] < alpha && alpha < interval[1]);
        Assert.True(double.IsFinite(json.GetProperty("clustering_entropy").GetDouble()));
        Assert.Equal(JsonValueKind.Null, json.GetProperty("lobes_ami").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("relation_silhouette").ValueKind);
        Assert.True(File.Exists(Path.Combine(figures, "geometry-spectrum.png")));
        Assert.Contains("Feature geometry (Li et al.", File.ReadAllText(Path.Combine(figures, "geometry.html")));
        Assert.Equal(2, json.GetProperty("figures").GetArrayLength());

        var again = CliProcess.Run("analyze", "geometry", "--sae", sae, "--out", figures);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("already exists; pass --force", again.Stderr);

        var tooFew = CliProcess.Run("analyze", "geometry", "--sae", sae, "--first-rank", "2", "--last-rank", "40");
        Assert.Equal(2, tooFew.ExitCode);
        Assert.StartsWith("error: points: 64 points of width 16 are too few for the rank range [2, 40]", tooFew.Stderr);
        Assert.Single(tooFew.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Geometry_Store_PrintsLobesAmiAndNull()
    {
        var store = Path.Combine(_directory, "store");
        var harvest = CliProcess.Run("harvest", "--model", CliProcess.Fixture("gptneo/gptneo-fused.onnx"), "--token-ids", CliProcess.Fixture("gptneo/token_ids.json"),
            "--hooks", "resid_post.1", "--context", "16", "--out", store, "--json");
        Assert.True(harvest.ExitCode == 0, harvest.Stderr);
        long rows = JsonDocument.Parse(harvest.Stdout).RootElement.GetProperty("rows").GetInt64();
        var sae = Path.Combine(_directory, "store-sae");
        var train = CliProcess.Run("train", "--store", store, "--hook", "resid_post.1", "--arch", "topk", "--latents", "64", "--k", "4",
            "--steps", "20", "--batch-size", "16", "--out", sae, "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);

        var run = CliProcess.Run("analyze", "geometry", "--sae", sae, "--store", store, "--hook", "resid_post.1", "--block-size", "4", "--clusters", "3",
            "--first-rank", "2", "--last-rank", "6", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var json = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(rows, json.GetProperty("rows").GetInt64());
        Assert.Equal((int)(rows / 4), json.GetProperty("blocks").GetInt32());
        Assert.InRange(json.GetProperty("lobes_ami").GetDouble(), -1, 1);
        Assert.InRange(json.GetProperty("lobes_null_ami").GetDouble(), -0.2, 0.2);

        var noHook = CliProcess.Run("analyze", "geometry", "--sae", sae, "--store", store);
        Assert.Equal(2, noHook.ExitCode);
        Assert.StartsWith("error: --hook: the lobe scale needs both --store and --hook", noHook.Stderr);
    }
}
