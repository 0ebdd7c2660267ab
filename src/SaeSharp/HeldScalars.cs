using TorchSharp;

namespace SaeSharp;

/// <summary>
/// Scalars handed to libtorch that stay alive. libtorch reads a <see cref="Scalar"/> through its handle while the call
/// runs; one made implicitly for the call (<c>x.masked_fill(mask, float.MinValue)</c>) is unreachable once its handle
/// is passed, so a garbage collection during the call can finalise it and libtorch reads freed memory ("Expected false
/// to be true ... toFloat"). Measured here: 16 of 200,000 <c>masked_fill</c> calls with an implicit Scalar failed under
/// GC pressure, none of 200,000 with a held one. Constants of the hot paths live here for the process (a static field
/// is never finalised); a per-call value is held with <c>using var s = value.ToScalar();</c> until the call returns.
/// TorchSharp's one-argument <c>add</c> and <c>sub</c> make such a Scalar themselves (alpha = 1), so code that must
/// not crash passes <see cref="One"/> as alpha.
/// </summary>
public static class HeldScalars
{
    /// <summary>−∞: the fill that keeps masked entries out of a top-k.</summary>
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    /// <summary>float.MinValue: Hugging Face's fill for masked attention scores.</summary>
    public static readonly Scalar FloatMin = float.MinValue.ToScalar();

    /// <summary>0 (integer, so it also serves integer tensors).</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>1 (integer, so it is a valid alpha for integer tensors too).</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>0.5.</summary>
    public static readonly Scalar Half = 0.5.ToScalar();

    /// <summary>2: TorchSharp's <c>square()</c> is <c>pow(2)</c> with an implicit Scalar, so callers write <c>pow(HeldScalars.Two)</c>.</summary>
    public static readonly Scalar Two = 2.ToScalar();

    /// <summary>3, gelu_new's cube.</summary>
    public static readonly Scalar Three = 3.ToScalar();

    /// <summary>gelu_new's cubic coefficient 0.044715.</summary>
    public static readonly Scalar GeluCubic = 0.044715.ToScalar();

    /// <summary>gelu_new's √(2/π).</summary>
    public static readonly Scalar GeluScale = Math.Sqrt(2.0 / Math.PI).ToScalar();
}
