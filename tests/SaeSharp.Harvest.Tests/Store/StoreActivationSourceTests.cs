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
    public async Task SaeTrainer_StoreRowHoldsNaN_MessageNamesStoreHookShardAndRow()
    {
        var dir = Fixtures.NewTempDir();
        // 40 sequences of 20 ids in 8..383, with token 7 (whose embedding is NaN) once, in sequence 23.
        var ids = Path.Combine(dir, "ids.json");
        var sequences = Enumerable.Range(0, 40).Select(s => Enumerable.Range(0, 20).Select(t => s == 23 && t == 11 ? 7 : 8 + (s * 31 + t * 17) % 376).ToArray()).ToArray();
        File.WriteAllText(ids, System.Text.Json.JsonSerializer.Serialize(sequences));
        var storePath = Harvester.Run(new HarvestConfig
        {
            ModelPath = HarvesterTests.ModelWithEmbeddingRow(dir, 7, float.NaN), Hooks = new[] { "resid_pre.0" }, OutputPath = Path.Combine(dir, "store"),
            TokenIdsPath = ids, ContextLength = 32, BatchSize = 8, RowsPerShard = 97, AllowNonFinite = true,
            Host = new OnnxHostOptions { IntraOpThreads = 1 },
        }).StorePath;
        using var source = StoreActivationSource.Open(storePath, "resid_pre.0", Small);
        using var trainer = new SaeSharp.Training.SaeTrainer(new SaeConfig(source.InputDim, 16, new TopKArchitecture(2)),
            new SaeSharp.Training.TrainConfig { Steps = 50, BatchSize = 32, InitSampleRows = 64 });
        var error = await Assert.ThrowsAsync<SaeSharpException>(() => trainer.TrainAsync(source));
        Assert.Contains($"store {storePath}, hook resid_pre.0, shard ", error.Message);
        // The named row is one the store really holds NaN in, found through the shuffle.
        var match = System.Text.RegularExpressions.Regex.Match(error.Message, @"shard (\d+) \(hook-000/shard-(\d+)\.bin\), row (\d+) of the shard \(store row (\d+)\)");
        Assert.True(match.Success, error.Message);
        long storeRow = long.Parse(match.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(storeRow, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 97 + long.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
        using var store = ActivationStore.Open(storePath);
        var row = new float[source.InputDim];
        store.ReadRow(0, storeRow, row);
        Assert.Contains(row, float.IsNaN);
        Assert.Equal(23 * 20 + 11, storeRow);

        // Inspect counts them instead of reporting a NaN mean norm.
        var statistics = store.Statistics(0);
        Assert.Equal(new HookStatistics(statistics.MeanNorm, source.InputDim, 1), statistics);
        Assert.True(double.IsFinite(statistics.MeanNorm) && statistics.MeanNorm > 0);
    }

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
