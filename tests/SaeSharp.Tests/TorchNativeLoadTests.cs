using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests;

/// <summary>Proves the native libtorch loads on this machine (the build patches LibTorchSharp where GCC 12 needs it).</summary>
public sealed class TorchNativeLoadTests
{
    [Fact]
    public void Torch_MatMul_OnCpu_ComputesProduct()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var b = tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }
}
