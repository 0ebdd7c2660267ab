using System.Diagnostics;

namespace SaeSharp.Training.Fused;

/// <summary>Wall time per part of the fused step, summed over steps (for the profile benchmark).</summary>
internal sealed class StepTimings
{
    public static readonly string[] Parts =
        ["centre", "encoder_gemm", "topk", "auxk_select", "decode", "bucket", "grads_adam_renorm", "b_dec", "metrics"];

    readonly long[] ticks = new long[Parts.Length];
    long mark;

    public int Steps { get; set; }

    internal void Start() => mark = Stopwatch.GetTimestamp();

    internal void Lap(int part)
    {
        long now = Stopwatch.GetTimestamp();
        ticks[part] += now - mark;
        mark = now;
    }

    /// <summary>Mean milliseconds per step for each part.</summary>
    public IReadOnlyList<(string Part, double Milliseconds)> MeanMilliseconds() =>
        Parts.Select((name, i) => (name, ticks[i] * 1000.0 / Stopwatch.Frequency / Math.Max(1, Steps))).ToArray();
}
