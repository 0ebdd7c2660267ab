using System.Globalization;

namespace SaeSharp.Training;

/// <summary>
/// A lower bound on one training step's working set, checked before the first batch: a batch far beyond the
/// machine's memory would otherwise end inside libtorch (a top-k over a too-large tensor crashes the process).
/// </summary>
internal static class StepMemory
{
    /// <summary>
    /// Bytes a step needs at least: per row, the encoder's pre-activations and their gradient (2·L float32, every
    /// step has them, fused or autograd) and the row, its reconstruction, the error and its gradient (4·W float32,
    /// W the row width).
    /// </summary>
    public static double PeakBytes(long batchSize, long rowWidth, long latents) =>
        (double)batchSize * (2.0 * latents + 4.0 * rowWidth) * sizeof(float);

    /// <summary>Throws when <see cref="PeakBytes"/> exceeds <paramref name="availableBytes"/>, naming both.</summary>
    /// <exception cref="SaeSharpException">The batch cannot fit.</exception>
    public static void ThrowIfTooLarge(long batchSize, long rowWidth, long latents, long availableBytes)
    {
        double needed = PeakBytes(batchSize, rowWidth, latents);
        if (needed <= availableBytes) return;
        throw new SaeSharpException(string.Create(CultureInfo.InvariantCulture,
            $"a batch of {batchSize:N0} rows needs at least {Gib(needed)} per step ({batchSize:N0} × (2 × {latents:N0} latents + 4 × {rowWidth:N0} inputs) float32) but {Gib(availableBytes)} is available; use a smaller `batch_size`"),
            field: "batch_size");
    }

    private static string Gib(double bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1L << 30):N1} GiB");
}
