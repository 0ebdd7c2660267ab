using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Internals;

/// <summary>
/// Stops on a batch holding NaN or infinities, naming its first bad row and where the source keeps it. The check is
/// one reduction per batch; the row is looked up only once one is bad.
/// </summary>
internal static class NonFiniteRows
{
    /// <summary>Throws when <paramref name="xBX"/> (read from <paramref name="source"/> at <paramref name="position"/>) holds a non-finite value.</summary>
    /// <exception cref="SaeSharpException">A value is NaN or infinite; <paramref name="consequence"/> ends the message.</exception>
    public static void ThrowIfAny(IActivationSource source, Tensor xBX, long position, string consequence)
    {
        using var finite = isfinite(xBX).all();
        if (finite.item<bool>()) return;
        using var finiteRowsB = isfinite(xBX).all(1);
        using var badRows = finiteRowsB.logical_not().nonzero();
        using var firstBad = badRows[0, 0];
        long first = position + firstBad.item<long>();
        var origin = source.DescribeRow(first);
        throw new SaeSharpException(
            $"the activation batch at rows {position}..{position + xBX.shape[0] - 1} contains NaN or infinite values, first in row {first}{(origin is null ? "" : $" ({origin})")}; {consequence}",
            field: "activations");
    }
}
