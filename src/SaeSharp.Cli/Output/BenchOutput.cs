using System.Text.Json.Serialization;
using SaeSharp.Throughput;

namespace SaeSharp.Cli.Output;

/// <summary>
/// <c>saesharp bench --json</c>: a <see cref="ThroughputReport"/> rounded for reading (tokens/s to 0.1, ms and GFLOP/s
/// to their measured precision). Built only by <see cref="From"/>.
/// </summary>
internal sealed record BenchOutput(
    int D, int M, int K, int Batch,
    [property: JsonPropertyName("tokens_per_s_fused")] double TokensPerSecondFused,
    [property: JsonPropertyName("tokens_per_s_autograd")] double TokensPerSecondAutograd,
    double GemmGflops,
    [property: JsonPropertyName("ceiling_tokens_per_s")] double CeilingTokensPerSecond,
    double FractionOfCeiling,
    [property: JsonPropertyName("speedup_fused_over_autograd")] double SpeedupOverAutograd,
    double EncoderGemmGflops, double FusedStepMs, double AutogradStepMs, double EncoderGemmMs,
    int Threads, double LoadAverageBefore, double LoadAverageAfter,
    [property: JsonPropertyName("profile_ms")] IReadOnlyDictionary<string, double>? Profile)
{
    public static BenchOutput From(ThroughputReport r) => new(
        r.D, r.M, r.K, r.Batch,
        Math.Round(r.TokensPerSecondFused, 1), Math.Round(r.TokensPerSecondAutograd, 1), Math.Round(r.GemmGflops, 2),
        Math.Round(r.CeilingTokensPerSecond, 1), Math.Round(r.FractionOfCeiling, 4), Math.Round(r.SpeedupOverAutograd, 2),
        Math.Round(r.EncoderGemmGflops, 2), Math.Round(r.FusedStepMs, 3), Math.Round(r.AutogradStepMs, 2), Math.Round(r.EncoderGemmMs, 2),
        r.Threads, r.LoadAverageBefore, r.LoadAverageAfter,
        r.Profile?.ToDictionary(p => p.Part, p => Math.Round(p.Milliseconds, 2)));
}

/// <summary><c>saesharp bench --crosscoder --json</c>: a <see cref="CrosscoderThroughputReport"/> rounded for reading.</summary>
internal sealed record CrosscoderBenchOutput(
    string Kind, int Sources, int D, int M, int K, int Batch, double DeadFraction,
    [property: JsonPropertyName("tokens_per_s_fused")] double TokensPerSecondFused,
    [property: JsonPropertyName("tokens_per_s_fused_dense_encoder_grad")] double TokensPerSecondFusedDenseEncoderGrad,
    [property: JsonPropertyName("tokens_per_s_autograd")] double TokensPerSecondAutograd,
    [property: JsonPropertyName("ceiling_tokens_per_s")] double CeilingTokensPerSecond,
    double EncoderGemmGflop, double EncoderGemmGflops, double FractionOfCeiling,
    [property: JsonPropertyName("speedup_fused_over_autograd")] double SpeedupOverAutograd,
    double FusedStepMs, double FusedDenseEncoderGradStepMs, double AutogradStepMs, double EncoderGemmMs,
    int Threads, double LoadAverageBefore, double LoadAverageAfter,
    [property: JsonPropertyName("profile_ms")] IReadOnlyDictionary<string, double>? Profile)
{
    public static CrosscoderBenchOutput From(CrosscoderThroughputReport r) => new(
        "crosscoder", r.Shape.Sources, r.Shape.D, r.Shape.L, r.Shape.K, r.Shape.Batch, r.DeadFraction,
        Math.Round(r.TokensPerSecondFused, 1), Math.Round(r.TokensPerSecondFusedDenseEncoder, 1), Math.Round(r.TokensPerSecondAutograd, 1),
        Math.Round(r.CeilingTokensPerSecond, 1), Math.Round(r.EncoderGemmGflop, 3), Math.Round(r.EncoderGemmGflops, 2),
        Math.Round(r.TokensPerSecondFused / r.CeilingTokensPerSecond, 4), Math.Round(r.TokensPerSecondFused / r.TokensPerSecondAutograd, 2),
        Math.Round(r.FusedStepMs, 3), Math.Round(r.FusedDenseEncoderStepMs, 3), Math.Round(r.AutogradStepMs, 2), Math.Round(r.EncoderGemmMs, 3),
        r.Threads, r.LoadAverageBefore, r.LoadAverageAfter,
        r.Profile?.ToDictionary(p => p.Part, p => Math.Round(p.Milliseconds, 3)));
}
