using BenchmarkDotNet.Attributes;
using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Benchmarks;

/// <summary>
/// The trainer's input path: shuffled batches of 4096 rows from an in-memory source. The on-disk
/// activation store (branch harvest) had not landed when this suite was written; its shuffled-read
/// benchmark belongs here once it does.
/// </summary>
[MemoryDiagnoser]
public class InputPathBench
{
    [Params(768)]
    public int D { get; set; }

    InMemoryActivationSource source = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rows = randn(65536, D).DetachFromDisposeScope();
        source = new InMemoryActivationSource(rows, seed: 1);
    }

    [Benchmark(OperationsPerInvoke = 16)]
    public void ShuffledBatches()
    {
        for (int i = 0; i < 16; i++)
        {
            using var batch = source.NextBatch(4096);
        }
    }
}
