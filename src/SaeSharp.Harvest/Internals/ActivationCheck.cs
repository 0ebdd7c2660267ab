using System.Globalization;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Harvest.Internals;

/// <summary>
/// Refuses activations a store cannot hold faithfully before they are appended: NaN and infinities (a broken
/// model or input; a trainer would stop on them much later, far from the cause) and, in a float16 store, finite
/// values beyond float16's ±65504, which the conversion would silently turn into infinities.
/// </summary>
internal static class ActivationCheck
{
    /// <summary>The largest finite float16.</summary>
    public const float HalfMax = 65504f;

    /// <summary>Throws naming the hook, sequence and position of the first unstorable value in <paramref name="rowsND"/>.</summary>
    /// <param name="rowsND">Rows of <paramref name="d"/> values, row-major.</param>
    /// <param name="d">The row width.</param>
    /// <param name="dtype">The store's element type.</param>
    /// <param name="allowNonFinite">Let NaN and infinities through (float16 overflow is refused regardless).</param>
    /// <param name="hook">The hook's name, for the message.</param>
    /// <param name="locate">Maps a row index to its sequence and position, called only on failure.</param>
    public static void ThrowIfUnstorable(ReadOnlySpan<float> rowsND, int d, StoreDType dtype, bool allowNonFinite, string hook,
        Func<int, (long Sequence, int Position)> locate)
    {
        bool half = dtype == StoreDType.F16;
        if (allowNonFinite && !half) return;
        for (int i = 0; i < rowsND.Length; i++)
        {
            float value = rowsND[i];
            // One compare for the common case: a finite value within float16's range passes either way.
            if (Math.Abs(value) <= HalfMax) continue;
            bool finite = float.IsFinite(value);
            if (finite && !half) continue;
            if (!finite && allowNonFinite) continue;
            var (sequence, position) = locate(i / d);
            var where = string.Create(CultureInfo.InvariantCulture, $"sequence {sequence}, position {position}, element {i % d}");
            throw finite
                ? new SaeSharpException($"activation {value.ToString("R", CultureInfo.InvariantCulture)} at {where} is beyond float16's range (±65504); harvest with `dtype` f32", field: hook)
                : new SaeSharpException($"the model produced {value.ToString(CultureInfo.InvariantCulture)} at {where}; the harvest stopped (`allow_non_finite` stores such values)", field: hook);
        }
    }
}
