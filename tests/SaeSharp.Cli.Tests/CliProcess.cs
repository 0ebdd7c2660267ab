using SaeSharp.Testing;
using System.Diagnostics;

namespace SaeSharp.Cli.Tests;

/// <summary>Runs the real tool (`dotnet SaeSharp.Cli.dll ...`) as a child process.</summary>
internal static class CliProcess
{
    public static string Root => RepositoryPaths.Root;

    public static string Fixture(string relative) => Path.Combine(Root, "tests", "fixtures", relative);

    public static string ToolDll { get; } = Path.Combine(AppContext.BaseDirectory, "SaeSharp.Cli.dll");

    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "saesharp-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(ToolDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var result = CliRunner.Run(args, TimeSpan.FromMinutes(2));
        return (result.ExitCode, result.StdOut, result.StdErr);
    }

    public static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    public static void AssertSameFiles(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (file, bytes) in expected)
            Assert.True(bytes.AsSpan().SequenceEqual(actual[file]), $"{file} differs");
    }

}
