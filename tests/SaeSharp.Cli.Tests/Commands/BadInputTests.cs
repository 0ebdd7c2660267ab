namespace SaeSharp.Cli.Tests.Commands;

/// <summary>Every bad input gets exit code 2, one `error:` line naming what is wrong, and nothing written or overwritten.</summary>
public sealed class BadInputTests
{
    private static string Fused => CliProcess.Fixture("gptneo/gptneo-fused.onnx");
    private static string Ids => CliProcess.Fixture("gptneo/token_ids.json");

    private static string AssertError((int Code, string Stdout, string Stderr) result, params string[] fragments)
    {
        Assert.Equal(2, result.Code);
        Assert.StartsWith("error: ", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr); // no stack trace
        foreach (var f in fragments) Assert.Contains(f, result.Stderr);
        return result.Stderr;
    }

    [Fact]
    public void NotAnOnnxFile()
    {
        var dir = CliProcess.NewTempDir();
        var bogus = Path.Combine(dir, "model.onnx");
        File.WriteAllText(bogus, "<html>not a model</html>");
        AssertError(CliProcess.Run("hooks", "--model", bogus), "not an ONNX", bogus);
        AssertError(CliProcess.Run("harvest", "--model", bogus, "--token-ids", Ids, "--hooks", "all", "--out", Path.Combine(dir, "s")), "not an ONNX");
        Assert.False(Directory.Exists(Path.Combine(dir, "s")));
    }

    [Fact]
    public void GraphWithNoResidualStream()
    {
        var model = CliProcess.Fixture("gptneo/no-residual.onnx");
        AssertError(CliProcess.Run("hooks", "--model", model), "no residual stream found", "set --hooks to TENSOR_NAME");
        var dir = CliProcess.NewTempDir();
        AssertError(CliProcess.Run("harvest", "--model", model, "--token-ids", Ids, "--hooks", "all", "--out", Path.Combine(dir, "s")), "no residual stream found");
        Assert.False(Directory.Exists(Path.Combine(dir, "s")));
    }

    [Fact]
    public void HookNameAbsent()
    {
        var dir = CliProcess.NewTempDir();
        AssertError(CliProcess.Run("harvest", "--model", Fused, "--token-ids", Ids, "--hooks", "resid_pre.0,resid_post.9", "--out", Path.Combine(dir, "s")),
            "resid_post.9", "hooks found: resid_pre.0");
        Assert.False(Directory.Exists(Path.Combine(dir, "s")));
    }

    [Fact]
    public void TokenizerMissingOrMismatched()
    {
        var dir = CliProcess.NewTempDir();
        var corpus = CliProcess.Fixture("gptneo/corpus.txt");
        AssertError(CliProcess.Run("harvest", "--model", Fused, "--tokenizer", Path.Combine(dir, "absent"), "--corpus", corpus, "--hooks", "all",
            "--tokens", "50", "--out", Path.Combine(dir, "s")), "not found");
        // A tokenizer with more ids than the model's 384-row embedding.
        var big = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(big, File.ReadAllText(CliProcess.Fixture("gptneo/tokenizer.json")).Replace("\"id\": 356", "\"id\": 50256"));
        AssertError(CliProcess.Run("harvest", "--model", Fused, "--tokenizer", big, "--corpus", corpus, "--hooks", "all",
            "--tokens", "50", "--out", Path.Combine(dir, "s")), "50257 ids", "only 384", "do not belong together");
        Assert.False(Directory.Exists(Path.Combine(dir, "s")));
    }

    [Fact]
    public void EmptyCorpus()
    {
        var dir = CliProcess.NewTempDir();
        var corpus = Path.Combine(dir, "empty.txt");
        File.WriteAllText(corpus, "\n\n<|endoftext|>\n");
        AssertError(CliProcess.Run("harvest", "--model", Fused, "--tokenizer", CliProcess.Fixture("gptneo"), "--corpus", corpus, "--hooks", "all",
            "--tokens", "50", "--out", Path.Combine(dir, "s")), "the corpus is empty");
        Assert.False(Directory.Exists(Path.Combine(dir, "s")));
    }

    [Fact]
    public void StoreFolderOfAnotherModel()
    {
        var dir = CliProcess.NewTempDir();
        var store = Path.Combine(dir, "s");
        var first = CliProcess.Run("harvest", "--model", Fused, "--token-ids", Ids, "--hooks", "resid_post.0", "--out", store);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var before = CliProcess.Snapshot(store);
        AssertError(CliProcess.Run("harvest", "--model", CliProcess.Fixture("gptneo/gptneo-decomposed.onnx"), "--token-ids", Ids, "--hooks", "resid_post.0", "--out", store, "--resume"),
            "different model");
        AssertError(CliProcess.Run("harvest", "--model", CliProcess.Fixture("gptneo/gptneo-decomposed.onnx"), "--token-ids", Ids, "--hooks", "resid_post.0", "--out", store),
            "already holds an activation store");
        CliProcess.AssertSameFiles(before, CliProcess.Snapshot(store));
        var notStore = Path.Combine(dir, "mine");
        Directory.CreateDirectory(notStore);
        File.WriteAllText(Path.Combine(notStore, "thesis.tex"), "precious");
        AssertError(CliProcess.Run("harvest", "--model", Fused, "--token-ids", Ids, "--hooks", "resid_post.0", "--out", notStore), "not empty");
        AssertError(CliProcess.Run("store", "inspect", notStore), "not an activation store");
        Assert.Equal("precious", File.ReadAllText(Path.Combine(notStore, "thesis.tex")));
    }

    private static void AssertOneLine((int Code, string Stdout, string Stderr) result, params string[] fragments)
    {
        AssertError(result, fragments);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("Usage:", result.Stdout + result.Stderr);
    }

    /// <summary>
    /// A failure of a command that drew progress (on stderr, with or without --json): exit 2, no stack trace, and the
    /// last stderr line the one `error:` line.
    /// </summary>
    private static void AssertErrorAfterProgress((int Code, string Stdout, string Stderr) result, params string[] fragments)
    {
        Assert.Equal(2, result.Code);
        Assert.DoesNotContain("   at ", result.Stderr);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith("error: ", lines[^1]);
        foreach (var f in fragments) Assert.Contains(f, lines[^1]);
    }

    private static string[] SmallTrain(string output) =>
        ["train", "--source", "synthetic", "--d-in", "16", "--true-features", "32", "--active", "2", "--latents", "32", "--k", "2",
         "--steps", "5", "--batch-size", "16", "--out", output];

    [Fact]
    public void BatchBeyondMemory_RefusedWithTheMemoryItNeeds()
    {
        // 1e8 rows × 4,096 latents: terabytes; this used to crash inside libtorch's topk instead of saying so.
        var dir = CliProcess.NewTempDir();
        string[] args = ["train", "--source", "synthetic", "--d-in", "16", "--true-features", "32", "--active", "2", "--latents", "4096", "--k", "2",
            "--steps", "5", "--batch-size", "100000000", "--out", Path.Combine(dir, "run")];
        var stderr = AssertError(CliProcess.Run(args), "--batch-size", "100,000,000 rows needs at least", "GiB per step", "is available");
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void ParseErrors_OneErrorLineAndExit2()
    {
        AssertOneLine(CliProcess.Run("train", "--no-such-option", "1"), "--no-such-option", "saesharp train --help");
        AssertOneLine(CliProcess.Run("train", "--arch", "sparse"), "sparse", "topk");
        AssertOneLine(CliProcess.Run("harvest", "--hooks", "all"), "--model", "--out");
        AssertOneLine(CliProcess.Run("train", "--steps", "many"), "many");
        AssertOneLine(CliProcess.Run("no-such-command"), "no-such-command");
        var help = CliProcess.Run("train", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Usage:", help.Stdout);
    }

    [Fact]
    public void OutIsAFile_OneErrorLine()
    {
        var dir = CliProcess.NewTempDir();
        var file = Path.Combine(dir, "file.txt");
        File.WriteAllText(file, "precious");
        AssertOneLine(CliProcess.Run([.. SmallTrain(file), "--force"]), file);
        AssertOneLine(CliProcess.Run(SmallTrain(Path.Combine(file, "sub"))), file);
        AssertOneLine(CliProcess.Run("harvest", "--model", Fused, "--token-ids", Ids, "--hooks", "resid_post.0", "--out", file), file);
        AssertOneLine(CliProcess.Run("harvest", "--model", Fused, "--token-ids", Ids, "--hooks", "resid_post.0", "--out", Path.Combine(file, "sub")), file);
        Assert.Equal("precious", File.ReadAllText(file));
    }

    [Fact]
    public void OutUnwritable_OneErrorLine()
    {
        // Root writes through permission bits, so the folders are ones nobody may create entries in.
        AssertOneLine(CliProcess.Run(SmallTrain("/sys/saesharp-test-out")), "/sys/saesharp-test-out");
        AssertOneLine(CliProcess.Run("harvest", "--model", Fused, "--token-ids", Ids, "--hooks", "resid_post.0", "--out", "/sys/saesharp-test-out"), "/sys/saesharp-test-out");
        AssertOneLine(CliProcess.Run(SmallTrain("/proc/self/saesharp-test-out")), "/proc/self/saesharp-test-out");
    }

    [Fact]
    public void StoreExport_OutIsAFolder_OneErrorLine()
    {
        var dir = CliProcess.NewTempDir();
        var store = Path.Combine(dir, "s");
        Assert.Equal(0, CliProcess.Run("harvest", "--model", Fused, "--token-ids", Ids, "--hooks", "resid_post.0", "--context", "16", "--out", store).ExitCode);
        var folder = Path.Combine(dir, "exports");
        Directory.CreateDirectory(folder);
        AssertOneLine(CliProcess.Run("store", "export", store, "--hook", "resid_post.0", "--out", folder), folder, "folder");
        AssertOneLine(CliProcess.Run("store", "export", store, "--hook", "resid_post.0", "--out", folder, "--force"), folder, "folder");
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Fact]
    public void DiskFull_OneErrorLine()
    {
        // A 4 KiB tmpfs; where this process may not mount one (not root, no CAP_SYS_ADMIN) the case cannot be made and the test passes vacuously.
        var mount = Path.Combine(CliProcess.NewTempDir(), "full");
        Directory.CreateDirectory(mount);
        using (var mounting = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", mount]) { RedirectStandardError = true })!)
        {
            mounting.WaitForExit();
            if (mounting.ExitCode != 0) return;
        }
        try
        {
            var store = Path.Combine(mount, "s");
            AssertErrorAfterProgress(CliProcess.Run("harvest", "--model", Fused, "--token-ids", Ids, "--hooks", "resid_post.0,resid_post.1", "--context", "16", "--out", store, "--json"),
                "No space left on device");
            AssertErrorAfterProgress(CliProcess.Run([.. SmallTrain(Path.Combine(mount, "sae")), "--json"]), "No space left on device");
        }
        finally
        {
            using var unmounting = System.Diagnostics.Process.Start("umount", [mount]);
            unmounting.WaitForExit();
        }
    }
}
