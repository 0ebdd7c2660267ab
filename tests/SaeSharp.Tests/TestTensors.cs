using static TorchSharp.torch;

namespace SaeSharp.Tests;

internal static class TestTensors
{
    /// <summary>Same dtype, same shape, every element equal (bit-identical for finite floats).</summary>
    public static bool Identical(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>Every input <c>a b =</c> of modular addition mod p (token p is <c>=</c>), int64 <c>[p², 3]</c>, row a·p + b.</summary>
    public static Tensor ModularAdditionInputs(int p) =>
        tensor(Enumerable.Range(0, p * p).SelectMany(i => new long[] { i / p, i % p, p }).ToArray(), [p * p, 3]);

    /// <summary>The answers (a + b) mod p of <see cref="ModularAdditionInputs"/>, int64 <c>[p²]</c>.</summary>
    public static Tensor ModularAdditionLabels(int p) =>
        tensor(Enumerable.Range(0, p * p).Select(i => (long)((i / p + i % p) % p)).ToArray(), [p * p]);
}
