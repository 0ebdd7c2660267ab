using System.Text.Json;
using SaeSharp.Harvest.Corpus;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Cli.Tests.Commands;

/// <summary><c>saesharp analyze dark-matter|probe</c> end to end: the real tool on a trained SAE, a store and its labels.</summary>
public sealed class AnalyzeCommandTests : IDisposable
{
    private readonly string _directory = CliProcess.NewTempDir();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string[] Synthetic => ["--source", "synthetic", "--d-in", "16", "--true-features", "32", "--active", "2", "--source-seed", "3"];

    private string TrainSynthetic()
    {
        var output = Path.Combine(_directory, "sae");
        var train = CliProcess.Run(["train", .. Synthetic, "--arch", "topk", "--latents", "32", "--k", "2", "--steps", "30", "--batch-size", "64", "--seed", "3", "--out", output, "--json"]);
        Assert.True(train.ExitCode == 0, train.Stderr);
        return output;
    }

    [Fact]
    public void DarkMatter_Synthetic_PrintsTheFiveNumbersAndFvuMatchesEval()
    {
        var sae = TrainSynthetic();
        var run = CliProcess.Run(["analyze", "dark-matter", "--sae", sae, .. Synthetic, "--rows", "4000", "--json"]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var json = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(2000, json.GetProperty("fit_rows").GetInt64());
        foreach (var key in new[] { "linear_error_r2", "norm_r2", "nonlinear_fraction" })
            Assert.InRange(json.GetProperty(key).GetDouble(), -0.5, 1.0);
        double fvu = json.GetProperty("fvu").GetDouble();
        // With an intercept the linear part can only help on the fitting rows; on held-out rows it must not hurt much.
        Assert.True(json.GetProperty("fvu_with_linear").GetDouble() < fvu * 1.05);
        var eval = CliProcess.Run("eval", "--sae", sae, "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        Assert.Equal(JsonDocument.Parse(eval.Stdout).RootElement.GetProperty("fvu").GetDouble(), fvu, 0.1);
    }

    [Fact]
    public void DarkMatter_TooFewRows_OneErrorLine()
    {
        var sae = TrainSynthetic();
        var run = CliProcess.Run(["analyze", "dark-matter", "--sae", sae, .. Synthetic, "--rows", "30"]);
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("error: --rows: 30 rows are too few", run.Stderr);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Probe_LabelledStore_PrintsAurocPerLabelAndK_AndRefusesUnlabelledStore()
    {
        var store = Path.Combine(_directory, "store");
        var ids = CliProcess.Fixture("gptneo/token_ids.json");
        var harvest = CliProcess.Run("harvest", "--model", CliProcess.Fixture("gptneo/gptneo-fused.onnx"), "--token-ids", ids,
            "--hooks", "resid_post.1", "--context", "16", "--out", store, "--json");
        Assert.True(harvest.ExitCode == 0, harvest.Stderr);
        var sae = Path.Combine(_directory, "store-sae");
        var train = CliProcess.Run("train", "--store", store, "--hook", "resid_post.1", "--arch", "topk", "--latents", "64", "--k", "4",
            "--steps", "20", "--batch-size", "16", "--out", sae, "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);

        var unlabelled = CliProcess.Run("analyze", "probe", "--sae", sae, "--store", store, "--hook", "resid_post.1");
        Assert.Equal(2, unlabelled.ExitCode);
        Assert.StartsWith("error: ", unlabelled.Stderr);

        var sequences = TokenIdsFile.Read(ids);
        StoreLabels.Write(store, ["even", "first"],
            [.. sequences.Select(s => (IReadOnlyList<ulong>)[.. s.Select((id, p) => (id % 2 == 0 ? 1UL : 0) | (p == 0 ? 2UL : 0))])]);
        var run = CliProcess.Run("analyze", "probe", "--sae", sae, "--store", store, "--hook", "resid_post.1", "--labels", "first", "--k", "1,4", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var labels = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("labels");
        var first = Assert.Single(labels.EnumerateArray());
        Assert.Equal("first", first.GetProperty("label").GetString());
        Assert.Equal(sequences.Length, first.GetProperty("positives").GetInt64());
        Assert.InRange(first.GetProperty("baseline_auroc").GetDouble(), 0, 1);
        Assert.Equal([1, 4], first.GetProperty("sparse").EnumerateArray().Select(s => s.GetProperty("k").GetInt32()));

        var unknown = CliProcess.Run("analyze", "probe", "--sae", sae, "--store", store, "--hook", "resid_post.1", "--labels", "nope");
        Assert.Equal(2, unknown.ExitCode);
        Assert.StartsWith("error: --labels: the store has no label \"nope\"; it has even, first", unknown.Stderr);
    }
}
