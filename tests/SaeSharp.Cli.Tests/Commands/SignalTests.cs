using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace SaeSharp.Cli.Tests.Commands;

/// <summary>
/// Ctrl+C for real: the tool runs as a child process, gets SIGINT from <c>kill -INT</c> while it works, must stop at a
/// durable point with exit 130 and a line saying how to continue, and the continued run must end byte-identical to
/// one that was never interrupted.
/// </summary>
public sealed class SignalTests
{
    private static string Fused => CliProcess.Fixture("gptneo/gptneo-fused.onnx");

    private static string[] LongTrain(string output) =>
        ["train", "--source", "synthetic", "--d-in", "16", "--true-features", "32", "--active", "2", "--arch", "topk",
         "--latents", "32", "--k", "2", "--steps", "6000", "--batch-size", "64", "--seed", "3", "--log-every", "10", "--out", output, "--json"];

    /// <summary>
    /// Starts the tool, waits until a line it writes to stderr satisfies <paramref name="ready"/>, sends SIGINT, and
    /// returns the exit code and stderr.
    /// </summary>
    private static (int ExitCode, string Stderr) Interrupt(string[] args, Func<string, bool> ready, int signal = SigInt)
    {
        // A child inherits ignored signals, and a test host may ignore SIGINT (as a shell does for a background job);
        // `env --default-signal=INT` gives the tool the disposition a terminal gives it.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["--default-signal=INT", "dotnet", CliProcess.ToolDll, .. args]) start.ArgumentList.Add(a);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = new Process { StartInfo = start };
        var stderr = new System.Text.StringBuilder();
        using var isReady = new ManualResetEventSlim();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (ready(e.Data)) isReady.Set();
        };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        bool signalled = isReady.Wait(TimeSpan.FromSeconds(60));
        Assert.True(signalled && !process.HasExited, $"the run finished before it could be interrupted; make it longer\n{stderr}");
        Assert.True(Kill(process.Id, signal) == 0, $"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}\n{stderr}");
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the run did not stop within 60 s of SIGINT");
        }
        process.WaitForExit();
        lock (stderr) return (process.ExitCode, stderr.ToString());
    }

    private const int SigInt = 2;
    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public void Train_Sigint_CheckpointsAndResumeIsBitIdentical()
    {
        var dir = CliProcess.NewTempDir();
        var whole = Path.Combine(dir, "whole");
        var (code, _, err) = CliProcess.Run(LongTrain(whole));
        Assert.True(code == 0, err);

        var stopped = Path.Combine(dir, "stopped");
        var metrics = Path.Combine(stopped, "metrics.jsonl");
        var (stopCode, stopErr) = Interrupt(LongTrain(stopped)[..^1], line => line.StartsWith("train: ", StringComparison.Ordinal) && line.Contains("loss", StringComparison.Ordinal));
        Assert.True(stopCode == 130, stopErr);
        Assert.Contains($"continue with: saesharp train --resume {stopped}", stopErr);
        Assert.DoesNotContain("   at ", stopErr);
        Assert.True(File.Exists(Path.Combine(stopped, "training_state.safetensors")), "no checkpoint on SIGINT");
        Assert.True(File.ReadLines(metrics).Count() < 600, "the run had finished when the signal came");

        var (resumeCode, _, resumeErr) = CliProcess.Run("train", "--resume", stopped, "--json");
        Assert.True(resumeCode == 0, resumeErr);
        // The training state also records run timings, so the weights and config are what must agree.
        foreach (var file in new[] { "sae_weights.safetensors", "cfg.json" })
            Assert.True(File.ReadAllBytes(Path.Combine(whole, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(stopped, file))), $"{file} differs");
    }

    [Fact]
    public void Harvest_Sigint_StopsAtACommitAndResumeIsByteIdentical()
    {
        var dir = CliProcess.NewTempDir();
        var rng = new Random(12);
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, JsonSerializer.Serialize(Enumerable.Range(0, 3000).Select(_ => Enumerable.Range(0, 64).Select(_ => rng.Next(384)).ToArray())));
        string[] Args(string output) =>
        [
            "harvest", "--model", Fused, "--token-ids", ids, "--hooks", "resid_pre.0,resid_post.2", "--context", "64",
            "--batch-size", "8", "--dtype", "f16", "--shard-rows", "4096", "--threads", "1", "--out", output,
        ];
        var whole = Path.Combine(dir, "whole");
        var (code, _, err) = CliProcess.Run(Args(whole));
        Assert.True(code == 0, err);

        var stopped = Path.Combine(dir, "stopped");
        var manifest = Path.Combine(stopped, "manifest.json");
        var (stopCode, stopErr) = Interrupt(Args(stopped), line => line.EndsWith(", 3 shards", StringComparison.Ordinal));
        Assert.True(stopCode == 130, stopErr);
        Assert.Contains("shards committed); continue with the same command and --resume", stopErr);
        Assert.DoesNotContain("   at ", stopErr);
        Assert.False(File.Exists(Path.Combine(stopped, ".lock")), "a harvest stopped by a signal releases its lock");
        using (var doc = JsonDocument.Parse(File.ReadAllBytes(manifest)))
            Assert.False(doc.RootElement.GetProperty("complete").GetBoolean());

        var (resumeCode, _, resumeErr) = CliProcess.Run([.. Args(stopped), "--resume"]);
        Assert.True(resumeCode == 0, resumeErr);
        CliProcess.AssertSameFiles(CliProcess.Snapshot(whole), CliProcess.Snapshot(stopped));
    }

    [Fact]
    public void Train_Sigterm_CheckpointsAndSaysHowToContinue()
    {
        var stopped = Path.Combine(CliProcess.NewTempDir(), "stopped");
        var (code, stderr) = Interrupt(LongTrain(stopped)[..^1], line => line.StartsWith("train: ", StringComparison.Ordinal) && line.Contains("loss", StringComparison.Ordinal), SigTerm);
        Assert.True(code == 130, stderr);
        Assert.Contains("SIGTERM: stopping", stderr);
        Assert.Contains($"continue with: saesharp train --resume {stopped}", stderr);
        Assert.True(File.Exists(Path.Combine(stopped, "training_state.safetensors")), "no checkpoint on SIGTERM");
    }
}
