using System.Diagnostics;

namespace SaeSharp.Training.Fused;

/// <summary>
/// Wall time per part of a fused step, summed over steps (for the profile benchmarks). A step calls
/// <see cref="Start"/> once, then <see cref="Lap"/> with each part's index as that part ends.
/// </summary>
public sealed class StepTimings(IReadOnlyList<string> parts)
{
    /// <summary>The parts of <see cref="FusedTopKTrainingStep"/>, in the order it laps them.</summary>
    public static readonly IReadOnlyList<string> FusedTopKParts =
        ["centre", "encoder_gemm", "topk", "auxk_select", "decode", "bucket", "grads_adam_renorm", "b_dec", "metrics"];

    readonly long[] ticks = new long[parts.Count];
    long mark;

    /// <summary>Steps timed so far.</summary>
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
        parts.Select((name, i) => (name, ticks[i] * 1000.0 / Stopwatch.Frequency / Math.Max(1, Steps))).ToArray();
}
