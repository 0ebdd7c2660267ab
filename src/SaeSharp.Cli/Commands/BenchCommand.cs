using SaeSharp.Throughput;
using System.CommandLine;
using System.Globalization;
using SaeSharp.Cli.Output;
using SaeSharp.Training.Fused;

namespace SaeSharp.Cli.Commands;

/// <summary>
/// <c>saesharp bench</c>: training throughput of the fused TopK step against the autograd step, beside the
/// machine's own ceiling (the encoder's dense product alone) measured in the same process. With
/// <c>--crosscoder</c>, the same for the BatchTopK crosscoder step (S sources of width d).
/// </summary>
internal static class BenchCommand
{
    internal static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Fewer repetitions (same shape): under a minute on 2 cores." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object to stdout." };
        var profile = new Option<bool>("--profile") { Description = "Also time each part of the fused step." };
        var d = new Option<int>("--d") { Description = "Input width d.", DefaultValueFactory = _ => ThroughputShape.Large.D };
        var m = new Option<int>("--m") { Description = "Dictionary size m.", DefaultValueFactory = _ => ThroughputShape.Large.M };
        var k = new Option<int>("--k") { Description = "Active latents per token.", DefaultValueFactory = _ => ThroughputShape.Large.K };
        var batch = new Option<int>("--batch") { Description = "Tokens per step.", DefaultValueFactory = _ => ThroughputShape.Large.Batch };
        var gemm = new Option<int>("--gemm-size") { Description = "Side of the square reference GEMM.", DefaultValueFactory = _ => 4096 };
        var crosscoder = new Option<bool>("--crosscoder") { Description = "Bench the BatchTopK crosscoder step (fused vs autograd) instead; shape defaults: sources 2, d 768, m 16384, k 32, batch 1024." };
        var sources = new Option<int>("--sources") { Description = "Crosscoder sources S (with --crosscoder).", DefaultValueFactory = _ => CrosscoderThroughputShape.Realistic.Sources };
        var deadFraction = new Option<double>("--dead-fraction") { Description = "Fraction of latents marked dead, so AuxK runs (with --crosscoder).", DefaultValueFactory = _ => 0 };
        var command = new Command("bench", "Measure training throughput (fused vs autograd step) against this machine's matrix-multiply ceiling.");
        foreach (var option in new Option[] { quick, json, profile, d, m, k, batch, gemm, crosscoder, sources, deadFraction }) command.Options.Add(option);
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            try
            {
                var reps = r.GetValue(quick) ? ThroughputRepetitions.Quick : ThroughputRepetitions.Full;
                if (r.GetValue(crosscoder))
                {
                    var realistic = CrosscoderThroughputShape.Realistic;
                    int Given(Option<int> option, int fallback) => r.GetResult(option) is { Implicit: false } ? r.GetValue(option) : fallback;
                    var crosscoderShape = new CrosscoderThroughputShape(r.GetValue(sources), Given(d, realistic.D), Given(m, realistic.L),
                        Given(k, realistic.K), Given(batch, realistic.Batch));
                    var crosscoderReport = CrosscoderThroughput.Run(crosscoderShape, reps, includeAutograd: true, profile: r.GetValue(profile), deadFraction: r.GetValue(deadFraction));
                    if (r.GetValue(json)) CliJson.Print(CrosscoderBenchOutput.From(crosscoderReport), CliJsonContext.Default.CrosscoderBenchOutput);
                    else Console.Out.WriteLine(ToText(crosscoderReport));
                    return Task.FromResult(0);
                }
                var shape = new ThroughputShape(r.GetValue(d), r.GetValue(m), r.GetValue(k), r.GetValue(batch));
                shape.Validate();
                var report = ThroughputRunner.Run(shape, reps, includeAutograd: true, profile: r.GetValue(profile), gemmSize: r.GetValue(gemm));
                if (r.GetValue(json)) CliJson.Print(BenchOutput.From(report), CliJsonContext.Default.BenchOutput);
                else Console.Out.WriteLine(ToText(report));
                return Task.FromResult(0);
            }
            catch (SaeSharpException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }
        });
        return command;
    }

    static string ToText(CrosscoderThroughputReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var s = r.Shape;
        var lines = new List<string>
        {
            string.Create(c, $"crosscoder       sources={s.Sources} d={s.D} m={s.L} k={s.K} batch={s.Batch} dead={r.DeadFraction:F3} threads={r.Threads}"),
            string.Create(c, $"fused            {r.TokensPerSecondFused,10:F0} tokens/s  ({r.FusedStepMs:F1} ms/step; sparse encoder gradient)"),
            string.Create(c, $"fused, dense ∇W  {r.TokensPerSecondFusedDenseEncoder,10:F0} tokens/s  ({r.FusedDenseEncoderStepMs:F1} ms/step; encoder gradient as xᵀ·G GEMM)"),
            string.Create(c, $"autograd         {r.TokensPerSecondAutograd,10:F0} tokens/s  ({r.AutogradStepMs:F1} ms/step)"),
            string.Create(c, $"ceiling          {r.CeilingTokensPerSecond,10:F0} tokens/s  (encoder product alone, {r.EncoderGemmGflop:F2} GFLOP in {r.EncoderGemmMs:F1} ms, {r.EncoderGemmGflops:F1} GFLOP/s)"),
            string.Create(c, $"fraction         {r.TokensPerSecondFused / r.CeilingTokensPerSecond,10:F3} of ceiling;  fused/autograd {r.TokensPerSecondFused / r.TokensPerSecondAutograd:F2}x"),
            string.Create(c, $"load average     {r.LoadAverageBefore:F2} before, {r.LoadAverageAfter:F2} after (timings under load read low)"),
        };
        if (r.Profile is { } parts)
            foreach (var (part, ms) in parts) lines.Add(string.Create(c, $"  {part,-20} {ms,9:F2} ms"));
        return string.Join(Environment.NewLine, lines);
    }

    static string ToText(ThroughputReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(c, $"shape            d={r.D} m={r.M} k={r.K} batch={r.Batch} threads={r.Threads}"),
            string.Create(c, $"fused            {r.TokensPerSecondFused,10:F0} tokens/s  ({r.FusedStepMs:F1} ms/step)"),
            string.Create(c, $"autograd         {r.TokensPerSecondAutograd,10:F0} tokens/s  ({r.AutogradStepMs:F1} ms/step)"),
            string.Create(c, $"ceiling          {r.CeilingTokensPerSecond,10:F0} tokens/s  (encoder product alone, {r.EncoderGemmMs:F1} ms, {r.EncoderGemmGflops:F1} GFLOP/s)"),
            string.Create(c, $"fraction         {r.FractionOfCeiling,10:F3} of ceiling;  fused/autograd {r.SpeedupOverAutograd:F2}x"),
            string.Create(c, $"square GEMM      {r.GemmGflops,10:F1} GFLOP/s"),
            string.Create(c, $"load average     {r.LoadAverageBefore:F2} before, {r.LoadAverageAfter:F2} after (timings under load read low)"),
        };
        if (r.Profile is { } parts)
            foreach (var (part, ms) in parts) lines.Add(string.Create(c, $"  {part,-20} {ms,9:F2} ms"));
        return string.Join(Environment.NewLine, lines);
    }
}
