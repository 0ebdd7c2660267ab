using System.Diagnostics;

namespace SaeSharp.Crosscoders.Internals;

/// <summary>Wall time per part of <see cref="FusedCrosscoderStep"/>, summed over steps (for <c>saesharp bench --crosscoder --profile</c>).</summary>
internal sealed class CrosscoderStepTimings
{
    public static readonly string[] Parts =
        ["encoder_gemm", "norms_batchtopk", "auxk_select", "decode", "bucket", "decoder_grads_adam", "encoder_grads_adam", "b_dec_metrics"];

    private readonly long[] _ticks = new long[Parts.Length];
    private long _mark;

    public int Steps { get; set; }

    internal void Start() => _mark = Stopwatch.GetTimestamp();

    internal void Lap(int part)
    {
        long now = Stopwatch.GetTimestamp();
        _ticks[part] += now - _mark;
        _mark = now;
    }

    /// <summary>Mean milliseconds per step for each part.</summary>
    public IReadOnlyList<(string Part, double Milliseconds)> MeanMilliseconds() =>
        Parts.Select((name, i) => (name, _ticks[i] * 1000.0 / Stopwatch.Frequency / Math.Max(1, Steps))).ToArray();
}
