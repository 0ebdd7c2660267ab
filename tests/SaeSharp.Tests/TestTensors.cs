using static TorchSharp.torch;

namespace SaeSharp.Tests;

internal static class TestTensors
{
    /// <summary>Same dtype, same shape, every element equal (bit-identical for finite floats).</summary>
    public static bool Identical(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
