using System.Diagnostics;
using System.Text.Json;

namespace SaeSharp.Cli.Tests.Commands;

/// <summary>
/// The tool split over worker processes as a scheduler runs it: three harvest workers side by side, merged, against one
/// process; the merge's refusals; a four-run training sweep in separate processes and its summary.
/// </summary>
public sealed class ScaleOutTests
{
    private static string Fused => CliProcess.Fixture("gptneo/gptneo-fused.onnx");
    private static string Decomposed => CliProcess.Fixture("gptneo/gptneo-decomposed.onnx");
    private static readonly string[] Hooks = ["resid_pre.0", "resid_mid.1", "resid_post.2"];

    private static string[] HarvestArgs(string model, string ids, string output) =>
    [
        "harvest", "--model", model, "--token-ids", ids, "--hooks", string.Join(',', Hooks), "--context", "24", "--batch-size", "4",
        "--shard-rows", "50", "--threads", "1", "--out", output,
    ];

    private static string TokenIds(string dir)
    {
        var rng = new Random(18);
        var path = Path.Combine(dir, "ids.json");
        File.WriteAllText(path, JsonSerializer.Serialize(Enumerable.Range(0, 41).Select(_ => Enumerable.Range(0, rng.Next(1, 25)).Select(_ => rng.Next(384)).ToArray())));
        return path;
    }

    /// <summary>Starts every command at once and waits for all of them: separate processes, side by side.</summary>
    private static void RunSideBySide(IEnumerable<string[]> commands)
    {
        var processes = commands.Select(args => (Args: args, Process: CliProcess.Start(args))).ToList();
        foreach (var (args, process) in processes)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"saesharp {string.Join(' ', args)} did not finish");
            Assert.True(process.ExitCode == 0, $"saesharp {string.Join(' ', args)}: {stderr.Result}");
            process.Dispose();
        }
    }

    [Fact]
    public void Harvest_ThreeWorkersSideBySideThenMerge_ExportOfEveryHookByteIdenticalToOneProcess()
    {
        var dir = CliProcess.NewTempDir();
        var ids = TokenIds(dir);
        var whole = Path.Combine(dir, "whole");
        var (code, _, stderr) = CliProcess.Run(HarvestArgs(Fused, ids, whole));
        Assert.True(code == 0, stderr);

        var parts = Enumerable.Range(0, 3).Select(i => Path.Combine(dir, $"part{i}")).ToArray();
        RunSideBySide(parts.Select((part, i) => HarvestArgs(Fused, ids, part).Concat(["--shard", $"{i}/3"]).ToArray()));
        var partRows = parts.Select(p => JsonDocument.Parse(File.ReadAllText(Path.Combine(p, "manifest.json"))).RootElement.GetProperty("rows").GetInt64()).ToArray();
        Assert.All(partRows, rows => Assert.True(rows > 0));

        var merged = Path.Combine(dir, "merged");
        var merge = CliRunner.Run("store", "merge", parts[2], parts[0], parts[1], "--out", merged, "--json");
        Assert.True(merge.ExitCode == 0, merge.StdErr);
        Assert.Equal(partRows.Sum(), merge.Json.GetProperty("rows").GetInt64());
        Assert.Equal(3, merge.Json.GetProperty("parts").GetInt32());

        foreach (var hook in Hooks)
        {
            var expected = Path.Combine(dir, $"whole-{hook}.safetensors");
            var actual = Path.Combine(dir, $"merged-{hook}.safetensors");
            Assert.Equal(0, CliProcess.Run("store", "export", whole, "--hook", hook, "--out", expected).ExitCode);
            Assert.Equal(0, CliProcess.Run("store", "export", merged, "--hook", hook, "--out", actual).ExitCode);
            Assert.True(File.ReadAllBytes(expected).AsSpan().SequenceEqual(File.ReadAllBytes(actual)), $"{hook}: the merged export differs from one process's");
        }
        // More than the acceptance asks: the store itself (shard files, checksums, manifest) is the single harvest's.
        CliProcess.AssertSameFiles(CliProcess.Snapshot(whole), CliProcess.Snapshot(merged));

        // Refusals, each one error line and exit 2, nothing written.
        var other = Path.Combine(dir, "other-model-part1");
        Assert.Equal(0, CliProcess.Run([.. HarvestArgs(Decomposed, ids, other), "--shard", "1/3"]).ExitCode);
        var refused = Path.Combine(dir, "refused");
        foreach (var (args, expectedText) in new (string[], string)[]
        {
            ([parts[0], parts[2]], "part 1 of 3 is missing"),
            ([parts[0], parts[1], parts[1], parts[2]], "part 1 of 3 is given twice"),
            ([parts[0], other, parts[2]], "different model"),
            ([parts[0], parts[1], whole], "harvested whole"),
        })
        {
            var result = CliRunner.Run(["store", "merge", .. args, "--out", refused]);
            Assert.Equal(2, result.ExitCode);
            var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line);
            Assert.Contains(expectedText, line);
            Assert.False(Directory.Exists(refused));
        }
    }

    [Fact]
    public void Harvest_ShardNotIOverN_OneErrorLine()
    {
        var dir = CliProcess.NewTempDir();
        foreach (var shard in new[] { "3/3", "1-3", "-1/2", "0/0" })
        {
            var result = CliRunner.Run([.. HarvestArgs(Fused, TokenIds(dir), Path.Combine(dir, "store")), "--shard", shard]);
            Assert.Equal(2, result.ExitCode);
            Assert.StartsWith("error: --shard: ", Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        }
    }

    [Fact]
    public void TrainSweep_FourRunsInSeparateProcesses_SummaryListsFourRuns()
    {
        var dir = CliProcess.NewTempDir();
        var sweep = Path.Combine(dir, "sweep");
        var grid = Path.Combine(dir, "grid.json");
        File.WriteAllText(grid, JsonSerializer.Serialize(new
        {
            @out = sweep,
            @base = new Dictionary<string, object> { ["d-in"] = 16, ["true-features"] = 32, ["active"] = 2, ["steps"] = 30, ["batch-size"] = 64, ["step"] = "autograd", ["tensorboard"] = false },
            grid = new Dictionary<string, object[]> { ["latents"] = [32, 64], ["k"] = [2, 4] },
        }));
        var listed = CliRunner.Run("sweep", "--grid", grid, "--json");
        Assert.True(listed.ExitCode == 0, listed.StdErr);
        Assert.Equal(4, listed.Json.GetProperty("count").GetInt32());
        Assert.Equal("4", CliRunner.Run("sweep", "--grid", grid, "--count").StdOut.Trim());
        var run3 = listed.Json.GetProperty("runs")[3];
        Assert.Equal(Path.Combine(sweep, "run-0003"), run3.GetProperty("out").GetString());
        Assert.Equal("64", run3.GetProperty("settings").GetProperty("latents").GetString());
        Assert.Equal("4", run3.GetProperty("settings").GetProperty("k").GetString());

        // Run 1's worker was killed before its first checkpoint: its folder holds only a metrics log; the retry starts afresh.
        Directory.CreateDirectory(Path.Combine(sweep, "run-0001"));
        File.WriteAllText(Path.Combine(sweep, "run-0001", "metrics.jsonl"), "");

        RunSideBySide(Enumerable.Range(0, 4).Select(i => new[] { "train", "--sweep", grid, "--index", i.ToString(System.Globalization.CultureInfo.InvariantCulture) }));

        var summary = CliRunner.Run("sweep", "summary", sweep, "--json");
        Assert.True(summary.ExitCode == 0, summary.StdErr);
        var runs = summary.Json.GetProperty("runs").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2, 3], runs.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Empty(summary.Json.GetProperty("missing").EnumerateArray());
        Assert.Equal(["latents", "k"], summary.Json.GetProperty("axes").EnumerateArray().Select(a => a.GetString()));
        foreach (var (run, i) in runs.Select((r, i) => (r, i)))
        {
            Assert.Equal(i < 2 ? "32" : "64", run.GetProperty("settings").GetProperty("latents").GetString());
            Assert.Equal(i % 2 == 0 ? "2" : "4", run.GetProperty("settings").GetProperty("k").GetString());
            Assert.Equal(i % 2 == 0 ? 2 : 4, run.GetProperty("l0").GetDouble(), 3);
            Assert.Equal(30, run.GetProperty("steps").GetInt64());
            Assert.True(File.Exists(Path.Combine(run.GetProperty("out").GetString()!, "sae_weights.safetensors")));
        }
        var markdown = CliRunner.Run("sweep", "summary", sweep);
        Assert.Equal(0, markdown.ExitCode);
        var lines = markdown.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("| run | latents | k | fvu |", lines[0]);
        Assert.Equal(2 + 4, lines.Length);

        // A retried worker finds its run done and changes nothing.
        var weights = Path.Combine(sweep, "run-0002", "sae_weights.safetensors");
        var before = File.ReadAllBytes(weights);
        var again = CliRunner.Run("train", "--sweep", grid, "--index", "2");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("done already", again.StdErr);
        Assert.Equal(before, File.ReadAllBytes(weights));
    }

    [Fact]
    public void Sweep_BadGridOrIndex_OneErrorLine()
    {
        var dir = CliProcess.NewTempDir();
        var grid = Path.Combine(dir, "grid.json");
        void Expect(string expected, params string[] args)
        {
            var result = CliRunner.Run(args);
            Assert.Equal(2, result.ExitCode);
            var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line);
            Assert.Contains(expected, line);
        }
        File.WriteAllText(grid, $$"""{ "out": "{{dir}}/s", "base": { "steps": 5 }, "grid": { "latnets": [8, 16] } }""");
        Expect("run 0: ", "sweep", "--grid", grid);
        File.WriteAllText(grid, $$"""{ "out": "{{dir}}/s", "base": { "out": "x" } }""");
        Expect("set by the sweep", "sweep", "--grid", grid);
        File.WriteAllText(grid, $$"""{ "out": "{{dir}}/s", "base": { "steps": 5 }, "grid": { "latents": [8, 16] } }""");
        Expect("run 2 is outside [0, 2)", "train", "--sweep", grid, "--index", "2");
        Expect("--sweep needs --index", "train", "--sweep", grid);
        Expect("set by the sweep", "train", "--sweep", grid, "--index", "0", "--latents", "4");
        Expect("no finished run", "sweep", "summary", dir);
    }
}
