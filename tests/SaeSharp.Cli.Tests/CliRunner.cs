using System.Diagnostics;
using System.Text.Json;

namespace SaeSharp.Cli.Tests;

/// <summary>Runs the real tool (SaeSharp.Cli.dll beside the tests) as a child process.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public JsonElement Json => JsonDocument.Parse(StdOut).RootElement;
    }

    public static Result Run(params string[] args) => Run(args, TimeSpan.FromMinutes(5));

    public static Result Run(string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliProcess.ToolDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"saesharp {string.Join(' ', args)} did not finish in {timeout}");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
