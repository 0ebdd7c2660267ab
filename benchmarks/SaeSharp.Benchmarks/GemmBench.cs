using BenchmarkDotNet.Attributes;
using static TorchSharp.torch;

namespace SaeSharp.Benchmarks;

/// <summary>The machine's square float32 GEMM rate through libtorch (2·n³ FLOPs per op), for reference.</summary>
[MemoryDiagnoser]
public class GemmBench
{
    [Params(4096)]
    public int N { get; set; }

    Tensor a = null!, b = null!, c = null!;

    [GlobalSetup]
    public void Setup()
    {
        a = randn(N, N); b = randn(N, N); c = empty(N, N);
    }

    [Benchmark]
    public void SquareGemm() => c.addmm_(a, b, beta: 0, alpha: 1);

    [GlobalCleanup]
    public void Cleanup()
    {
        a.Dispose(); b.Dispose(); c.Dispose();
    }
}
