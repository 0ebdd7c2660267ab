using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using SaeSharp.IO;

namespace SaeSharp.Cli.Tests.Commands;

public sealed class HarvestCommandTests
{
    private static string Fused => CliProcess.Fixture("gptneo/gptneo-fused.onnx");
    private static string Decomposed => CliProcess.Fixture("gptneo/gptneo-decomposed.onnx");

    [Fact]
    public void Hooks_PyTorchGptNeo_JsonListsEveryBlock()
    {
        var (code, stdout, stderr) = CliProcess.Run("hooks", "--model", Decomposed, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(3, doc.RootElement.GetProperty("layers").GetInt32());
        Assert.Equal(384, doc.RootElement.GetProperty("vocab_size").GetInt32());
        var hooks = doc.RootElement.GetProperty("hooks").EnumerateArray().ToArray();
        Assert.Equal(9, hooks.Length);
        Assert.Equal("resid_post.2", hooks[^1].GetProperty("name").GetString());
        Assert.All(hooks, h => Assert.Equal(48, h.GetProperty("shape")[2].GetInt32()));
        Assert.All(hooks, h => Assert.False(string.IsNullOrEmpty(h.GetProperty("tensor").GetString())));
    }

    [Fact]
    public void HarvestTokenIds_ThenExport_EqualsPyTorchHiddenStates()
    {
        var dir = CliProcess.NewTempDir();
        var store = Path.Combine(dir, "store");
        var (code, stdout, stderr) = CliProcess.Run("harvest", "--model", Fused, "--token-ids", CliProcess.Fixture("gptneo/token_ids.json"),
            "--hooks", "all", "--context", "16", "--batch-size", "3", "--out", store, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(27, JsonDocument.Parse(stdout).RootElement.GetProperty("rows").GetInt64());

        var (inspectCode, inspect, inspectErr) = CliProcess.Run("store", "inspect", store, "--json");
        Assert.True(inspectCode == 0, inspectErr);
        using var info = JsonDocument.Parse(inspect);
        Assert.Equal(27, info.RootElement.GetProperty("rows").GetInt64());
        Assert.Equal(48, info.RootElement.GetProperty("d").GetInt32());
        Assert.Equal("f32", info.RootElement.GetProperty("dtype").GetString());
        Assert.Equal(7 * 27 * 48 * 4, info.RootElement.GetProperty("bytes").GetInt64());

        var expected = SafeTensorsFile.Read(CliProcess.Fixture("gptneo/expected.safetensors"));
        var mask = MemoryMarshal.Cast<byte, long>(expected.Tensors["attention_mask"].Data.Span).ToArray();
        foreach (var hook in new[] { "resid_pre.0", "resid_mid.1", "resid_post.2" })
        {
            var file = Path.Combine(dir, hook + ".safetensors");
            var (exportCode, _, exportErr) = CliProcess.Run("store", "export", store, "--hook", hook, "--out", file);
            Assert.True(exportCode == 0, exportErr);
            var exported = SafeTensorsFile.Read(file).Tensors[hook];
            Assert.Equal(new long[] { 27, 48 }, exported.Shape);
            var actual = MemoryMarshal.Cast<byte, float>(exported.Data.Span).ToArray();
            var reference = expected.Tensors[hook];
            var all = MemoryMarshal.Cast<byte, float>(reference.Data.Span).ToArray();
            // Expected rows: the padded [B, T, D] PyTorch states with the padding (mask 0) dropped, in order.
            var rows = new List<float>();
            for (int p = 0; p < mask.Length; p++)
                if (mask[p] == 1) rows.AddRange(all.AsSpan(p * 48, 48).ToArray());
            Assert.Equal(rows.Count, actual.Length);
            for (int i = 0; i < actual.Length; i++)
                Assert.True(Math.Abs(rows[i] - actual[i]) < 1e-4f, $"{hook}[{i}]: {actual[i]} vs {rows[i]}");
        }
        var (again, _, againErr) = CliProcess.Run("store", "export", store, "--hook", "resid_pre.0", "--out", Path.Combine(dir, "resid_pre.0.safetensors"));
        Assert.Equal(2, again);
        Assert.Contains("--force", againErr);
    }

    [Fact]
    public void Harvest_KilledThenResumed_ByteIdenticalToUninterrupted()
    {
        var dir = CliProcess.NewTempDir();
        var rng = new Random(11);
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, JsonSerializer.Serialize(Enumerable.Range(0, 3000).Select(_ => Enumerable.Range(0, 64).Select(_ => rng.Next(384)).ToArray())));
        string[] Args(string output) => new[]
        {
            "harvest", "--model", Fused, "--token-ids", ids, "--hooks", "resid_pre.0,resid_post.2", "--context", "64",
            "--batch-size", "8", "--dtype", "f16", "--shard-rows", "4096", "--threads", "1", "--out", output,
        };
        var whole = Path.Combine(dir, "whole");
        var (code, _, stderr) = CliProcess.Run(Args(whole));
        Assert.True(code == 0, stderr);

        var killed = Path.Combine(dir, "killed");
        var manifest = Path.Combine(killed, "manifest.json");
        using (var process = CliProcess.Start(Args(killed)))
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited)
            {
                if (File.Exists(manifest) && CommittedShards(manifest) >= 3) break;
                Thread.Sleep(5);
            }
            Assert.False(process.HasExited, "the harvest finished before it could be killed; make the input larger");
            process.Kill(); // SIGKILL on Unix: no cleanup runs
            process.WaitForExit();
        }
        Assert.True(File.Exists(Path.Combine(killed, ".lock")), "a killed harvest leaves its lock file (the lock itself dies with the process)");
        using (var doc = JsonDocument.Parse(File.ReadAllBytes(manifest)))
            Assert.False(doc.RootElement.GetProperty("complete").GetBoolean());

        var resumeArgs = Args(killed).Append("--resume").ToArray();
        var (resumeCode, _, resumeErr) = CliProcess.Run(resumeArgs);
        Assert.True(resumeCode == 0, resumeErr);
        CliProcess.AssertSameFiles(CliProcess.Snapshot(whole), CliProcess.Snapshot(killed));

        // A corrupted shard is caught by its checksum, with the shard named.
        var shard = Path.Combine(killed, "hook-001", "shard-000002.bin");
        var bytes = File.ReadAllBytes(shard);
        bytes[1000] ^= 0x01;
        File.WriteAllBytes(shard, bytes);
        var (inspectCode, _, inspectErr) = CliProcess.Run("store", "inspect", killed, "--json");
        Assert.Equal(2, inspectCode);
        Assert.Contains("error:", inspectErr);
        Assert.Contains("shard 2 of hook resid_post.2 is corrupted", inspectErr);
    }

    /// <summary>What kill -9 leaves in the first-commit window: the lock, shard files and temporaries, no manifest.</summary>
    private static void KilledBeforeFirstCommit(string store)
    {
        Directory.CreateDirectory(Path.Combine(store, "hook-000"));
        Directory.CreateDirectory(Path.Combine(store, "hook-001"));
        File.WriteAllText(Path.Combine(store, ".lock"), "12345\n");
        File.WriteAllBytes(Path.Combine(store, "hook-000", "shard-000000.bin"), new byte[1000]);
        File.WriteAllBytes(Path.Combine(store, "hook-001", ".shard-000000.bin.12345.0123456789abcdef0123456789abcdef.tmp"), new byte[300]);
        File.WriteAllText(Path.Combine(store, ".manifest.json.12345.0123456789abcdef0123456789abcdef.tmp"), "{\"trunc");
    }

    [Fact]
    public void Harvest_KilledBeforeFirstCommit_ResumeOrFreshRunStartsFromZero()
    {
        var dir = CliProcess.NewTempDir();
        string[] Args(string output) =>
            ["harvest", "--model", Fused, "--token-ids", CliProcess.Fixture("gptneo/token_ids.json"), "--hooks", "resid_pre.0,resid_post.1",
             "--context", "16", "--shard-rows", "8", "--threads", "1", "--out", output];
        var whole = Path.Combine(dir, "whole");
        var first = CliProcess.Run(Args(whole));
        Assert.True(first.ExitCode == 0, first.Stderr);

        var resumed = Path.Combine(dir, "resumed");
        KilledBeforeFirstCommit(resumed);
        var resume = CliProcess.Run([.. Args(resumed), "--resume"]);
        Assert.True(resume.ExitCode == 0, resume.Stderr);
        CliProcess.AssertSameFiles(CliProcess.Snapshot(whole), CliProcess.Snapshot(resumed));

        var fresh = Path.Combine(dir, "fresh");
        KilledBeforeFirstCommit(fresh);
        var again = CliProcess.Run(Args(fresh));
        Assert.True(again.ExitCode == 0, again.Stderr);
        CliProcess.AssertSameFiles(CliProcess.Snapshot(whole), CliProcess.Snapshot(fresh));

        // Anything that is not a writer's leftover makes the folder someone else's.
        var mine = Path.Combine(dir, "mine");
        KilledBeforeFirstCommit(mine);
        File.WriteAllText(Path.Combine(mine, "notes.txt"), "precious");
        foreach (var extra in new[] { Array.Empty<string>(), ["--resume"] })
        {
            var refused = CliProcess.Run([.. Args(mine), .. extra]);
            Assert.Equal(2, refused.ExitCode);
            Assert.StartsWith("error: ", refused.Stderr);
        }
        Assert.Equal("precious", File.ReadAllText(Path.Combine(mine, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(mine, "hook-000", "shard-000000.bin")));
    }

    [Fact]
    public void Harvest_Force_ReplacesAStoreAndConflictsWithResume()
    {
        var dir = CliProcess.NewTempDir();
        var store = Path.Combine(dir, "s");
        string[] Args(string hook) =>
            ["harvest", "--model", Fused, "--token-ids", CliProcess.Fixture("gptneo/token_ids.json"), "--hooks", hook, "--context", "16", "--threads", "1", "--out", store];
        Assert.Equal(0, CliProcess.Run(Args("resid_post.0")).ExitCode);
        var refused = CliProcess.Run(Args("resid_post.1"));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--force", refused.Stderr);
        var both = CliProcess.Run([.. Args("resid_post.1"), "--force", "--resume"]);
        Assert.Equal(2, both.ExitCode);
        Assert.StartsWith("error: ", both.Stderr);
        var replaced = CliProcess.Run([.. Args("resid_post.1"), "--force"]);
        Assert.True(replaced.ExitCode == 0, replaced.Stderr);
        var reference = Path.Combine(dir, "reference");
        Assert.Equal(0, CliProcess.Run([.. Args("resid_post.1")[..^1], reference]).ExitCode);
        CliProcess.AssertSameFiles(CliProcess.Snapshot(reference), CliProcess.Snapshot(store));
    }

    private static int CommittedShards(string manifest)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(manifest));
            return doc.RootElement.GetProperty("shards").GetArrayLength();
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return 0;
        }
    }

    [Fact]
    public void Tokenize_TextFile_IdsOfTheWholeText()
    {
        var (code, stdout, stderr) = CliProcess.Run("tokenize", "--tokenizer", CliProcess.Fixture("gptneo"), "--text-file", CliProcess.Fixture("gptneo/corpus.txt"), "--json");
        Assert.True(code == 0, stderr);
        var ids = JsonSerializer.Deserialize<int[]>(stdout)!;
        Assert.Equal(5, ids.Count(i => i == 356));
        Assert.All(ids, i => Assert.InRange(i, 0, 356));
    }

    [Fact]
    public void Tokenize_BuiltInGpt2_NeedsNoFiles()
    {
        var dir = CliProcess.NewTempDir();
        var text = Path.Combine(dir, "story.txt");
        File.WriteAllText(text, "Once upon a time<|endoftext|>");
        var (code, stdout, stderr) = CliProcess.Run("tokenize", "--tokenizer", "gpt2", "--text-file", text, "--json");
        Assert.True(code == 0, stderr);
        // GPT-2's ids for "Once", " upon", " a", " time" and <|endoftext|>.
        Assert.Equal(new[] { 7454, 2402, 257, 640, 50256 }, JsonSerializer.Deserialize<int[]>(stdout));
    }

    [Fact]
    public void HarvestCorpus_BuiltInGpt2WithSmallVocabularyModel_OneClearError()
    {
        var dir = CliProcess.NewTempDir();
        var store = Path.Combine(dir, "store");
        var (code, _, stderr) = CliProcess.Run("harvest", "--model", Decomposed, "--tokenizer", "gpt2",
            "--corpus", CliProcess.Fixture("gptneo/corpus.txt"), "--hooks", "resid_mid.1", "--context", "20", "--tokens", "90", "--out", store);
        Assert.Equal(2, code);
        Assert.Contains("50257", stderr);
        Assert.Contains("do not belong together", stderr);
        Assert.False(Directory.Exists(store) && Directory.EnumerateFileSystemEntries(store).Any(), "nothing may be written");
    }

    [Fact]
    public void HarvestCorpus_TrainableStoreWithTokenizerAndProgress()
    {
        var dir = CliProcess.NewTempDir();
        var store = Path.Combine(dir, "store");
        var (code, stdout, stderr) = CliProcess.Run("harvest", "--model", Decomposed, "--tokenizer", CliProcess.Fixture("gptneo/vocab.json"),
            "--corpus", CliProcess.Fixture("gptneo/corpus.txt"), "--hooks", "resid_mid.1", "--context", "20", "--tokens", "90", "--out", store, "--json", "--seed", "3");
        Assert.True(code == 0, stderr);
        Assert.Equal(90, JsonDocument.Parse(stdout).RootElement.GetProperty("rows").GetInt64());
    }
}
