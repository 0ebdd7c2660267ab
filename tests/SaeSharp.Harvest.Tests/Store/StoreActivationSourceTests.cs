using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Harvest.Tests.Store;

[Collection("Torch")]
public sealed class StoreActivationSourceTests
{
    private static readonly Lazy<string> StorePath = new(() =>
    {
        var dir = Fixtures.NewTempDir();
        var ids = StoreTestData.WriteTokenIds(dir, 60, 30, seed: 3);
        return Harvester.Run(new HarvestConfig
        {
            ModelPath = Fixtures.FusedModel, Hooks = new[] { "resid_mid.1", "resid_post.2" }, OutputPath = Path.Combine(dir, "store"),
            TokenIdsPath = ids, ContextLength = 32, BatchSize = 8, RowsPerShard = 97, DType = StoreDType.F16,
            Host = new OnnxHostOptions { IntraOpThreads = 1 },
        }).StorePath;
    });

    private static readonly StoreSourceOptions Small = new() { Seed = 5, ChunkRows = 16, ShuffleBufferRows = 128, PrefetchBatches = 3 };

    [Fact]
    public void RowAt_OneEpoch_IsAPermutationMixingShards()
    {
        using var source = StoreActivationSource.Open(StorePath.Value, "resid_post.2", Small);
        long rows = source.RowCount!.Value;
        Assert.True(rows > 500);
        var epoch0 = Enumerable.Range(0, (int)rows).Select(p => source.RowAt(p)).ToArray();
        Assert.Equal(Enumerable.Range(0, (int)rows).Select(i => (long)i), epoch0.Order());
        var epoch1 = Enumerable.Range(0, (int)rows).Select(p => source.RowAt(rows + p)).ToArray();
        Assert.Equal(epoch0.Order(), epoch1.Order());
        Assert.NotEqual(epoch0, epoch1);
        // The first shuffle buffer draws rows from more than one shard (97 rows each).
        Assert.True(epoch0.Take(128).Select(r => r / 97).Distinct().Count() > 2);
    }

    [Fact]
    public void NextBatch_SeekToSavedPosition_ReplaysExactlyAndMatchesTheStoreRows()
    {
        using var store = ActivationStore.Open(StorePath.Value);
        using var a = new StoreActivationSource(store, "resid_mid.1", Small);
        Assert.Equal(48, a.InputDim);
        var batches = new List<float[]>();
        for (int i = 0; i < 6; i++)
        {
            using var t = a.NextBatch(50);
            Assert.Equal(new long[] { 50, 48 }, t.shape);
            batches.Add(t.data<float>().ToArray());
        }
        Assert.Equal(300, a.Position);
        // The rows are the store's rows at RowAt(position).
        var row = new float[48];
        int hook = store.HookIndex("resid_mid.1");
        for (int p = 0; p < 300; p += 37)
        {
            store.ReadRow(hook, a.RowAt(p), row);
            Assert.Equal(row, batches[p / 50].AsSpan(p % 50 * 48, 48).ToArray());
        }
        using var b = new StoreActivationSource(store, "resid_mid.1", Small with { PrefetchBatches = 0 });
        b.Seek(150);
        for (int i = 3; i < 6; i++)
        {
            using var t = b.NextBatch(50);
            Assert.Equal(batches[i], t.data<float>().ToArray());
        }
        a.Seek(100);
        using (var t = a.NextBatch(50)) Assert.Equal(batches[2], t.data<float>().ToArray());
    }

    [Fact]
    public void Open_UnknownHook_ClearError()
    {
        var e = Assert.Throws<SaeSharpException>(() => StoreActivationSource.Open(StorePath.Value, "resid_pre.7"));
        Assert.Contains("no hook `resid_pre.7`", e.Message);
    }
}
