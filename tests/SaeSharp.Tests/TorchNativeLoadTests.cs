using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests;

/// <summary>Proves the native libtorch loads on this machine (the build patches LibTorchSharp where GCC 12 needs it).</summary>
public sealed class TorchNativeLoadTests
{
    [Fact]
    public void Torch_MatMul_OnCpu_ComputesProduct()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var b = tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }
}

/// <summary>The build's ELF patch, checked with binutils' readelf as an independent reader.</summary>
public sealed class LibTorchSharpPatchTests
{
    [Fact]
    public void LibTorchSharp_InOutputFolder_NeedsGlibcxx3432OnlyWeaklyWhereTheSystemLacksIt()
    {
        if (!OperatingSystem.IsLinux()) return;
        var library = Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        string versions = Run("readelf", "-V", library);
        var needLine = versions.Split('\n').FirstOrDefault(l => l.Contains("Name: GLIBCXX_3.4.32"));
        bool systemHasIt = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }
            .Where(File.Exists).Take(1).Any(p => System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(p)).Contains("GLIBCXX_3.4.32\0"));
        if (needLine is null) return; // a TorchSharp build without the need: nothing to patch
        if (systemHasIt)
        {
            Assert.Contains("Flags: none", needLine);
            return;
        }
        Assert.Contains("Flags: WEAK", needLine);
        // No symbol is bound to that version any more: readelf's versym table no longer names it.
        int versymStart = versions.IndexOf("Version symbols section", StringComparison.Ordinal);
        int versymEnd = versions.IndexOf("Version needs section", StringComparison.Ordinal);
        Assert.True(versymStart >= 0 && versymEnd > versymStart);
        Assert.DoesNotContain("(GLIBCXX_3.4.32)", versions[versymStart..versymEnd]);
    }

    private static string Run(string file, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output;
    }
}
