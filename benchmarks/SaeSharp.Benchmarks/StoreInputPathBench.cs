using BenchmarkDotNet.Attributes;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Benchmarks;

/// <summary>
/// The store-to-trainer input path: shuffled 4096-row batches from an on-disk activation store (a synthetic
/// f32 store of 64 Ki rows × d, written once in setup), through <see cref="StoreActivationSource"/> with its
/// default shuffle buffer and prefetching. Compare batches/s with the fused step's steps/s: the data path
/// must never starve the step.
/// </summary>
[MemoryDiagnoser]
public class StoreInputPathBench
{
    const int Rows = 65536, RowsPerShard = 16384, Batch = 4096;

    [Params(768)]
    public int D { get; set; }

    string storeDir = "";
    StoreActivationSource source = null!;

    [GlobalSetup]
    public void Setup()
    {
        storeDir = Path.Combine(Path.GetTempPath(), $"saesharp-bench-store-{Environment.ProcessId}");
        var synthetic = new StoreFileRef("synthetic", 0, new string('0', 64));
        var header = new StoreManifest
        {
            Model = synthetic, Input = new StoreInput { Kind = "token_ids", Source = synthetic }, ContextLength = 128, BatchSize = 8,
            DType = StoreDType.F32, RowsPerShard = RowsPerShard, TargetTokens = Rows, Hooks = [new StoreHook("resid", "synthetic", D)],
        };
        var random = new Random(1);
        var valuesND = new float[RowsPerShard * D];
        using (var writer = ActivationStoreWriter.Create(storeDir, header, overwrite: true))
        {
            for (int s = 0; s < Rows / RowsPerShard; s++)
            {
                for (int i = 0; i < valuesND.Length; i++) valuesND[i] = (float)(random.NextDouble() * 2 - 1);
                writer.Append([valuesND]);
            }
            writer.Finish();
        }
        source = StoreActivationSource.Open(storeDir, "resid", new StoreSourceOptions { Seed = 3 });
        for (int i = 0; i < Rows / Batch; i++) source.NextBatch(Batch).Dispose(); // map and verify every shard once
    }

    /// <summary>One op = one shuffled batch of 4096 rows (batches/s = 1 / time per op).</summary>
    [Benchmark(OperationsPerInvoke = 16)]
    public void ShuffledStoreBatches()
    {
        for (int i = 0; i < 16; i++)
        {
            using var batch = source.NextBatch(Batch);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        source.Dispose();
        Directory.Delete(storeDir, recursive: true);
    }
}
