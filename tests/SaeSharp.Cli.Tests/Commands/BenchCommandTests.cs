using System.CommandLine;
using System.Text.Json;
using SaeSharp.Cli.Commands;

namespace SaeSharp.Cli.Tests.Commands;

/// <summary><c>saesharp bench</c> end to end at a tiny shape (the real shapes take minutes).</summary>
[Collection("Console")]
public sealed class BenchCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var root = new RootCommand { BenchCommand.Create() };
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        using var output = new StringWriter(); using var error = new StringWriter();
        Console.SetOut(output); Console.SetError(error);
        try { return (root.Parse(args).Invoke(), output.ToString(), error.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    [Fact]
    public void Bench_QuickJson_PrintsConsistentReport()
    {
        var (code, stdout, stderr) = Run("bench", "--quick", "--json", "--d", "32", "--m", "256", "--k", "4", "--batch", "256", "--gemm-size", "256");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var r = json.RootElement;
        Assert.Equal(32, r.GetProperty("d").GetInt32());
        Assert.Equal(256, r.GetProperty("m").GetInt32());
        Assert.Equal(4, r.GetProperty("k").GetInt32());
        Assert.Equal(256, r.GetProperty("batch").GetInt32());
        double fused = r.GetProperty("tokens_per_s_fused").GetDouble();
        double autograd = r.GetProperty("tokens_per_s_autograd").GetDouble();
        double ceiling = r.GetProperty("ceiling_tokens_per_s").GetDouble();
        Assert.True(fused > 0 && autograd > 0 && ceiling > 0 && r.GetProperty("gemm_gflops").GetDouble() > 0);
        Assert.Equal(fused / ceiling, r.GetProperty("fraction_of_ceiling").GetDouble(), 2e-3);
        // tokens/s and ms/step describe the same measurement.
        Assert.Equal(256 / (r.GetProperty("fused_step_ms").GetDouble() / 1000), fused, fused * 2e-2); // ms printed to 0.001
    }

    [Fact]
    public void Bench_CrosscoderQuickJson_PrintsConsistentReport()
    {
        var (code, stdout, stderr) = Run("bench", "--crosscoder", "--quick", "--json", "--sources", "3", "--d", "16", "--m", "64", "--k", "4", "--batch", "64", "--dead-fraction", "0.25");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var r = json.RootElement;
        Assert.Equal("crosscoder", r.GetProperty("kind").GetString());
        Assert.Equal(3, r.GetProperty("sources").GetInt32());
        Assert.Equal(16, r.GetProperty("d").GetInt32());
        Assert.Equal(64, r.GetProperty("m").GetInt32());
        Assert.Equal(64, r.GetProperty("batch").GetInt32());
        Assert.Equal(0.25, r.GetProperty("dead_fraction").GetDouble());
        double fused = r.GetProperty("tokens_per_s_fused").GetDouble();
        double ceiling = r.GetProperty("ceiling_tokens_per_s").GetDouble();
        Assert.True(fused > 0 && ceiling > 0 && r.GetProperty("tokens_per_s_autograd").GetDouble() > 0
            && r.GetProperty("tokens_per_s_fused_dense_encoder_grad").GetDouble() > 0);
        Assert.Equal(2.0 * 64 * 3 * 16 * 64 / 1e9, r.GetProperty("encoder_gemm_gflop").GetDouble(), 1e-3);
        Assert.Equal(fused / ceiling, r.GetProperty("fraction_of_ceiling").GetDouble(), 2e-3);
        Assert.Equal(64 / (r.GetProperty("fused_step_ms").GetDouble() / 1000), fused, fused * 2e-2);
    }

    [Fact]
    public void Bench_CrosscoderKAboveLatentCount_ExitsWithError()
    {
        var (code, stdout, stderr) = Run("bench", "--crosscoder", "--json", "--m", "8", "--k", "9");
        Assert.Equal(2, code);
        Assert.Contains("k must be in [1, m=8]", stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Bench_KAboveLatentCount_ExitsWithError()
    {
        var (code, stdout, stderr) = Run("bench", "--json", "--m", "8", "--k", "9");
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", stderr);
        Assert.Contains("k must be in [1, m=8]", stderr);
        Assert.Equal("", stdout);
    }
}
