using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Harvest.Tests.Onnx;

namespace SaeSharp.Harvest.Tests.Store;

public sealed class HarvesterTests
{
    private static HarvestConfig TokenIdsConfig(string ids, string output) => new()
    {
        ModelPath = Fixtures.FusedModel,
        Hooks = new[] { "all" },
        OutputPath = output,
        TokenIdsPath = ids,
        ContextLength = 32,
        BatchSize = 3,
        RowsPerShard = 50,
        Host = new OnnxHostOptions { IntraOpThreads = 1 },
    };

    [Fact]
    public void Run_TokenIds_StoresPyTorchHiddenStatesInHarvestOrder()
    {
        var dir = Fixtures.NewTempDir();
        var config = TokenIdsConfig(Fixtures.GptNeo("token_ids.json"), Path.Combine(dir, "store")) with { RowsPerShard = 7, BatchSize = 2 };
        var result = Harvester.Run(config);
        var sequences = SaeSharp.Harvest.Corpus.TokenIdsFile.Read(Fixtures.GptNeo("token_ids.json"));
        Assert.Equal(sequences.Sum(s => s.Length), result.Rows);
        using var store = ActivationStore.Open(result.StorePath);
        Assert.True(store.Complete);
        Assert.Equal(7, store.Hooks.Count);
        // `all` stores each distinct tensor once; resid_pre.(i+1) is resid_post.i and answers to both names.
        Assert.Equal(store.HookIndex("resid_post.0"), store.HookIndex("resid_pre.1"));
        Assert.Equal(new[] { "resid_pre.2" }, store.Hooks[store.HookIndex("resid_post.1")].Aliases);
        Assert.Equal((int)Math.Ceiling(result.Rows / 7.0), store.ShardCount);
        foreach (var hook in store.Hooks)
        {
            var expected = OnnxHostTests.ExpectedRows(hook.Name, sequences);
            var actual = new float[result.Rows * hook.D];
            store.ReadRows(store.HookIndex(hook.Name), 0, (int)result.Rows, actual);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4f, $"{hook.Name}[{i}]: {actual[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void Run_F16_RoundsTheF32Rows()
    {
        var dir = Fixtures.NewTempDir();
        var ids = StoreTestData.WriteTokenIds(dir, 10, 20);
        var f32 = Harvester.Run(TokenIdsConfig(ids, Path.Combine(dir, "f32")) with { Hooks = new[] { "resid_post.2" } });
        var f16 = Harvester.Run(TokenIdsConfig(ids, Path.Combine(dir, "f16")) with { Hooks = new[] { "resid_post.2" }, DType = StoreDType.F16 });
        using var a = ActivationStore.Open(f32.StorePath);
        using var b = ActivationStore.Open(f16.StorePath);
        Assert.Equal(StoreDType.F16, b.DType);
        Assert.Equal(a.ShardBytes, 2 * b.ShardBytes);
        var x = new float[a.Rows * 48];
        var y = new float[b.Rows * 48];
        a.ReadRows(0, 0, (int)a.Rows, x);
        b.ReadRows(0, 0, (int)b.Rows, y);
        for (int i = 0; i < x.Length; i++) Assert.Equal((float)(Half)x[i], y[i]);
    }

    [Fact]
    public void Run_CancelledThenResumed_ByteIdenticalToUninterrupted()
    {
        var dir = Fixtures.NewTempDir();
        var ids = StoreTestData.WriteTokenIds(dir, 40, 24);
        var whole = Harvester.Run(TokenIdsConfig(ids, Path.Combine(dir, "whole")));
        Assert.True(whole.Shards > 4);

        var partial = TokenIdsConfig(ids, Path.Combine(dir, "partial"));
        using var cts = new CancellationTokenSource();
        var stopAfterTwoShards = new Progress(p => { if (p.CommittedShards >= 2) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => Harvester.Run(partial, stopAfterTwoShards, cts.Token));
        using (var interrupted = ActivationStore.Open(partial.OutputPath))
        {
            Assert.False(interrupted.Complete);
            Assert.InRange(interrupted.ShardCount, 2, whole.Shards - 1);
        }
        var resumed = Harvester.Run(partial with { Resume = true });
        Assert.True(resumed.Resumed);
        Assert.Equal(whole.Rows, resumed.Rows);
        var expected = StoreTestData.Snapshot(whole.StorePath);
        var actual = StoreTestData.Snapshot(resumed.StorePath);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (file, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(actual[file]), file);
        // Resuming a complete store changes nothing.
        Harvester.Run(partial with { Resume = true });
        Assert.True(StoreTestData.Snapshot(resumed.StorePath)["manifest.json"].AsSpan().SequenceEqual(expected["manifest.json"]));
    }

    [Fact]
    public void Run_CorpusCancelledThenResumed_ByteIdenticalToUninterrupted()
    {
        // The corpus path resumes from the packer's cursor (document position, token offset) in a seeded order.
        var dir = Fixtures.NewTempDir();
        HarvestConfig Config(string output) => new()
        {
            ModelPath = Fixtures.FusedModel, Hooks = new[] { "resid_pre.0", "resid_post.2" }, OutputPath = output,
            TokenizerPath = Fixtures.GptNeo("tokenizer.json"), CorpusPath = Fixtures.GptNeo("corpus.txt"), Seed = 9, Bos = true,
            ContextLength = 8, Tokens = 150, BatchSize = 2, RowsPerShard = 20, Host = new OnnxHostOptions { IntraOpThreads = 1 },
        };
        var whole = Harvester.Run(Config(Path.Combine(dir, "whole")));
        Assert.Equal(150, whole.Rows);
        var partial = Config(Path.Combine(dir, "partial"));
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Harvester.Run(partial, new Progress(p => { if (p.CommittedShards >= 3) cts.Cancel(); }), cts.Token));
        var resumed = Harvester.Run(partial with { Resume = true });
        Assert.True(resumed.TokensThisRun < 150);
        var expected = StoreTestData.Snapshot(whole.StorePath);
        var actual = StoreTestData.Snapshot(resumed.StorePath);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (file, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(actual[file]), file);
        var changed = Assert.Throws<SaeSharpException>(() => Harvester.Run(partial with { Resume = true, Seed = 10 }));
        Assert.Contains("different corpus setting", changed.Message);
    }

    [Fact]
    public void Open_CorruptedShard_ChecksumErrorNamesTheShard()
    {
        var dir = Fixtures.NewTempDir();
        var ids = StoreTestData.WriteTokenIds(dir, 12, 20);
        var result = Harvester.Run(TokenIdsConfig(ids, Path.Combine(dir, "store")) with { Hooks = new[] { "resid_pre.1" } });
        var shard = Path.Combine(result.StorePath, "hook-000", "shard-000001.bin");
        var bytes = File.ReadAllBytes(shard);
        bytes[17] ^= 0x40;
        File.WriteAllBytes(shard, bytes);
        using var store = ActivationStore.Open(result.StorePath);
        var row = new float[48];
        store.ReadRow(0, 0, row); // shard 0 is intact
        var e = Assert.Throws<SaeSharpException>(() => store.ReadRow(0, 50, row));
        Assert.Contains("shard 1 of hook resid_pre.1 is corrupted", e.Message);
        Assert.Contains("SHA-256", e.Message);
        Assert.Throws<SaeSharpException>(() => store.VerifyAll());
        File.WriteAllBytes(shard, bytes[..^4]);
        Assert.Contains("truncated", Assert.Throws<SaeSharpException>(() => ActivationStore.Open(result.StorePath)).Message);
    }

    [Fact]
    public void Run_IntoExistingStoreOrForeignFolder_RefusesAndChangesNothing()
    {
        var dir = Fixtures.NewTempDir();
        var ids = StoreTestData.WriteTokenIds(dir, 8, 12);
        var config = TokenIdsConfig(ids, Path.Combine(dir, "store")) with { Hooks = new[] { "resid_post.0" } };
        Harvester.Run(config);
        var before = StoreTestData.Snapshot(config.OutputPath);

        var again = Assert.Throws<SaeSharpException>(() => Harvester.Run(config));
        Assert.Contains("already holds an activation store", again.Message);
        var other = Assert.Throws<SaeSharpException>(() => Harvester.Run(config with { ModelPath = Fixtures.DecomposedModel, Resume = true }));
        Assert.Contains("different model", other.Message);
        var hooks = Assert.Throws<SaeSharpException>(() => Harvester.Run(config with { Hooks = new[] { "resid_post.1" }, Resume = true }));
        Assert.Contains("different hook list", hooks.Message);
        var after = StoreTestData.Snapshot(config.OutputPath);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (file, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[file]), file);

        var foreign = Path.Combine(dir, "foreign");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "mine");
        Assert.Contains("not empty", Assert.Throws<SaeSharpException>(() => Harvester.Run(config with { OutputPath = foreign })).Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(foreign, "notes.txt")));
        Assert.Contains("no activation store here", Assert.Throws<SaeSharpException>(() => Harvester.Run(config with { OutputPath = Path.Combine(dir, "nope"), Resume = true })).Message);
    }

    [Fact]
    public void Run_WhileAnotherWriterHoldsTheLock_Refuses()
    {
        var dir = Fixtures.NewTempDir();
        var ids = StoreTestData.WriteTokenIds(dir, 8, 12);
        var config = TokenIdsConfig(ids, Path.Combine(dir, "store")) with { Hooks = new[] { "resid_post.0" } };
        using (var held = new FileStream(Path.Combine(Directory.CreateDirectory(config.OutputPath).FullName, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var e = Assert.Throws<SaeSharpException>(() => Harvester.Run(config));
            Assert.Contains("another harvest is writing this store", e.Message);
        }
        Harvester.Run(config);
        Assert.False(File.Exists(Path.Combine(config.OutputPath, ".lock")));
    }

    [Fact]
    public void Run_TokenIdOutsideVocabularyOrTooLong_ClearErrorNothingWritten()
    {
        var dir = Fixtures.NewTempDir();
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, "[[1, 2, 3], [4, 384]]");
        var config = TokenIdsConfig(ids, Path.Combine(dir, "store"));
        var e = Assert.Throws<SaeSharpException>(() => Harvester.Run(config));
        Assert.Contains("token id 384 is outside the model's vocabulary of 384", e.Message);
        Assert.False(Directory.Exists(config.OutputPath));
        File.WriteAllText(ids, "[[1, 2, 3, 4, 5]]");
        Assert.Contains("more than `context_length` 4", Assert.Throws<SaeSharpException>(() => Harvester.Run(config with { ContextLength = 4 })).Message);
    }

    [Fact]
    public void Run_CorpusWithTokenizer_PacksContextsAndChecksVocabulary()
    {
        var dir = Fixtures.NewTempDir();
        var config = new HarvestConfig
        {
            ModelPath = Fixtures.DecomposedModel, Hooks = new[] { "resid_post.2" }, OutputPath = Path.Combine(dir, "store"),
            TokenizerPath = Fixtures.GptNeo("tokenizer.json"), CorpusPath = Fixtures.GptNeo("corpus.txt"),
            ContextLength = 16, Tokens = 100, BatchSize = 4, RowsPerShard = 30,
        };
        var result = Harvester.Run(config);
        Assert.Equal(100, result.Rows); // 6 full contexts and a 4-token tail
        Assert.Equal(4, result.Shards);

        // A tokenizer with more ids than the model's embedding is refused before anything is written.
        var big = Path.Combine(dir, "big-tokenizer.json");
        File.WriteAllText(big, File.ReadAllText(Fixtures.GptNeo("tokenizer.json")).Replace("\"id\": 356", "\"id\": 500"));
        var e = Assert.Throws<SaeSharpException>(() => Harvester.Run(config with { TokenizerPath = big, OutputPath = Path.Combine(dir, "s2") }));
        Assert.Contains("do not belong together", e.Message);
        Assert.False(Directory.Exists(Path.Combine(dir, "s2")));
    }

    /// <summary>The fused fixture with token <paramref name="id"/>'s embedding row set to <paramref name="value"/>.</summary>
    internal static string ModelWithEmbeddingRow(string dir, int id, float value)
    {
        var model = OnnxGraph.Load(Fixtures.FusedModel).Model.Clone();
        var embedding = model.Graph.Initializer.Single(t => t.Dims.Count == 2 && t.Dims[0] == 384 && t.Name.Contains("wte", StringComparison.Ordinal));
        var bytes = embedding.RawData.ToByteArray();
        Assert.Equal(384 * embedding.Dims[1] * 4, bytes.Length);
        var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
        floats.Slice(id * (int)embedding.Dims[1], (int)embedding.Dims[1]).Fill(value);
        embedding.RawData = Google.Protobuf.ByteString.CopyFrom(bytes);
        var path = Path.Combine(dir, "edited.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        return path;
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public void Run_ModelProducesNonFinite_StopsNamingHookSequenceAndPosition(float value, string shown)
    {
        var dir = Fixtures.NewTempDir();
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, "[[1, 2, 3], [4, 5, 6], [7, 8]]");
        var config = TokenIdsConfig(ids, Path.Combine(dir, "store")) with { ModelPath = ModelWithEmbeddingRow(dir, 5, value), Hooks = new[] { "resid_pre.0" } };
        var e = Assert.Throws<SaeSharpException>(() => Harvester.Run(config));
        Assert.Equal("resid_pre.0", e.Field);
        Assert.Contains($"produced {shown} at sequence 1, position 1,", e.Message);

        // Allowed on request: the rows are stored as the model gave them.
        var result = Harvester.Run(config with { AllowNonFinite = true, Overwrite = true });
        using var store = ActivationStore.Open(result.StorePath);
        Assert.Equal(8, store.Rows);
    }

    [Fact]
    public void Run_F16StoreValueBeyondHalfRange_IsRefusedNotWrittenAsInfinity()
    {
        var dir = Fixtures.NewTempDir();
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, "[[1, 2, 3], [4, 5, 6]]");
        var config = TokenIdsConfig(ids, Path.Combine(dir, "store")) with { ModelPath = ModelWithEmbeddingRow(dir, 6, 1e6f), Hooks = new[] { "resid_pre.0" } };
        var e = Assert.Throws<SaeSharpException>(() => Harvester.Run(config with { DType = StoreDType.F16 }));
        Assert.Equal("resid_pre.0", e.Field);
        Assert.Contains("beyond float16's range", e.Message);
        Assert.Contains("sequence 1, position 2,", e.Message);
        // The same activations fit float32; float16 refuses them even with allow_non_finite.
        Harvester.Run(config);
        Assert.Throws<SaeSharpException>(() => Harvester.Run(config with { DType = StoreDType.F16, AllowNonFinite = true, OutputPath = Path.Combine(dir, "f16") }));
    }

    [Fact]
    public void Run_TokenIdBeyondVocabulary_NamesSequenceAndPosition()
    {
        var dir = Fixtures.NewTempDir();
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, "[[1, 2, 3], [4, 5, 384]]");
        var e = Assert.Throws<SaeSharpException>(() => Harvester.Run(TokenIdsConfig(ids, Path.Combine(dir, "store"))));
        Assert.Contains("sequence 1, position 2: token id 384 is outside the model's vocabulary of 384 ids", e.Message);
        Assert.Equal("token_ids_path", e.Field);
    }

    private sealed class Progress(Action<HarvestProgress> report) : IProgress<HarvestProgress>
    {
        public void Report(HarvestProgress value) => report(value);
    }
}
