using System.Security.Cryptography;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Harvest.Tests.Store;

public sealed class ActivationStoreWriterTests
{
    private const int RowsPerShard = 4;
    private static readonly int[] Widths = [3, 5];

    private static StoreManifest Header(StoreDType dtype = StoreDType.F32, int rowsPerShard = RowsPerShard)
    {
        var model = new StoreFileRef("model.onnx", 123, new string('a', 64));
        return new StoreManifest
        {
            Model = model, Input = new StoreInput { Kind = "token_ids", Source = new StoreFileRef("ids.json", 45, new string('b', 64)) },
            ContextLength = 16, BatchSize = 2, DType = dtype, RowsPerShard = rowsPerShard, TargetTokens = 17,
            Hooks = [new StoreHook("resid_pre.0", "/Add_output_0", Widths[0]), new StoreHook("resid_post.0", "/Add_1_output_0", Widths[1]) { Aliases = ["resid_pre.1"] }],
        };
    }

    /// <summary>Rows <c>[start, start + count)</c> of hook <paramref name="hook"/>: a deterministic function of row and column.</summary>
    private static float[] Rows(int hook, int start, int count)
    {
        int d = Widths[hook];
        var rowsND = new float[count * d];
        for (int r = 0; r < count; r++)
            for (int c = 0; c < d; c++)
                rowsND[r * d + c] = MathF.Sin(1 + (start + r) * 7.3f + c * 1.1f + hook * 0.37f) * (hook + 1);
        return rowsND;
    }

    private static ReadOnlyMemory<float>[] Block(int start, int count) => [Rows(0, start, count), Rows(1, start, count)];

    /// <summary>Appends rows <c>[from, to)</c> in blocks of 3 (block <c>b</c> holds rows <c>3b..3b+2</c>, cursor sequence <c>b</c>).</summary>
    private static void AppendRange(ActivationStoreWriter writer, int from, int to)
    {
        for (int start = from; start < to;)
        {
            int block = start / 3, skip = start - block * 3, count = Math.Min(3 * block + 3, to) - start;
            writer.Append(Block(start, count), new StoreCursor { Sequence = block, SkipRows = skip });
            start += count;
        }
    }

    private static string Uninterrupted(string dir, int rows = 17)
    {
        var path = Path.Combine(dir, "whole");
        using var writer = ActivationStoreWriter.Create(path, Header());
        AppendRange(writer, 0, rows);
        writer.Finish(new StoreCursor { Sequence = 6 });
        return path;
    }

    [Fact]
    public void Create_AppendThenFinish_RoundTripsThroughTheReader()
    {
        var path = Uninterrupted(Fixtures.NewTempDir());
        Assert.False(File.Exists(Path.Combine(path, ".lock")));
        using var store = ActivationStore.Open(path);
        Assert.True(store.Complete);
        Assert.Equal(17, store.Rows);
        Assert.Equal(5, store.ShardCount); // 4 + 4 + 4 + 4 + 1
        Assert.Equal(1, store.Manifest.Shards[^1].Rows);
        Assert.Equal(Header() with { Rows = 17, Shards = store.Manifest.Shards, Cursor = new StoreCursor { Sequence = 6 }, Complete = true, Hooks = store.Manifest.Hooks, Input = store.Manifest.Input },
            store.Manifest);
        Assert.Equal(Header().Input, store.Manifest.Input);
        Assert.Equal(["resid_pre.1"], store.Hooks[1].Aliases);
        Assert.Equal(1, store.HookIndex("resid_pre.1"));
        for (int h = 0; h < 2; h++)
        {
            var actual = new float[17 * Widths[h]];
            store.ReadRows(h, 0, 17, actual);
            Assert.Equal(Rows(h, 0, 17), actual); // bit-exact
        }
    }

    [Fact]
    public void Finish_F16_StoresRoundedHalves()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "f16");
        using (var writer = ActivationStoreWriter.Create(path, Header(StoreDType.F16)))
        {
            writer.Append(Block(0, 6));
            writer.Finish();
        }
        using var store = ActivationStore.Open(path);
        Assert.Equal(StoreDType.F16, store.DType);
        Assert.Equal(6 * (3 + 5) * 2, store.ShardBytes);
        var actual = new float[6 * 5];
        store.ReadRows(1, 0, 6, actual);
        Assert.Equal(Rows(1, 0, 6).Select(v => (float)(Half)v), actual);
    }

    [Fact]
    public void Commit_RecordsEachShardFileSha256_AndTheReaderRefusesACorruptedOne()
    {
        var path = Uninterrupted(Fixtures.NewTempDir());
        var manifest = StoreManifest.Read(path);
        foreach (var file in manifest.Shards.SelectMany(s => s.Files))
        {
            var bytes = File.ReadAllBytes(Path.Combine(path, file.Path));
            Assert.Equal(file.Bytes, bytes.Length);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.Sha256);
        }
        var shard = Path.Combine(path, manifest.Shards[2].Files[1].Path);
        var corrupted = File.ReadAllBytes(shard);
        corrupted[5] ^= 0x01;
        File.WriteAllBytes(shard, corrupted);
        using var store = ActivationStore.Open(path);
        Assert.Contains("shard 2 of hook resid_post.0 is corrupted", Assert.Throws<SaeSharpException>(() => store.VerifyAll()).Message);
    }

    [Fact]
    public void Append_ShardBoundaryInsideABlock_CursorSkipsTheCommittedRowsOfThatBlock()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "store");
        using var writer = ActivationStoreWriter.Create(path, Header());
        AppendRange(writer, 0, 6); // blocks 0 and 1; the first shard ends after row 3, the first row of block 1
        Assert.Single(writer.Manifest.Shards);
        Assert.Equal(2, writer.PendingRows);
        Assert.Equal(new StoreCursor { Sequence = 1, SkipRows = 1 }, writer.Manifest.Cursor);
        Assert.Equal(StoreManifestFile.Serialize(writer.Manifest), File.ReadAllText(Path.Combine(path, "manifest.json"))); // what the writer reports is on disk
    }

    [Fact]
    public void Dispose_WithoutFinishAfterACrashMidShard_LosesOnlyThePendingShardAndResumesByteIdentical()
    {
        var dir = Fixtures.NewTempDir();
        var expected = StoreTestData.Snapshot(Uninterrupted(dir));

        var path = Path.Combine(dir, "killed");
        using (var writer = ActivationStoreWriter.Create(path, Header()))
        {
            AppendRange(writer, 0, 10); // shards 0 and 1 committed, rows 8 and 9 pending
            Assert.Equal(2, writer.PendingRows);
        }
        // What a writer killed while committing shard 2 leaves: a half-written shard, temporaries, its lock file.
        File.WriteAllBytes(Path.Combine(path, "hook-000", "shard-000002.bin"), new byte[7]);
        File.WriteAllBytes(Path.Combine(path, "hook-001", ".shard-000002.bin.99.0123.tmp"), new byte[9]);
        File.WriteAllText(Path.Combine(path, ".manifest.json.99.4567.tmp"), "{ half a manifest");
        File.WriteAllText(Path.Combine(path, ".lock"), "99\n");

        using (var interrupted = ActivationStore.Open(path))
        {
            Assert.False(interrupted.Complete);
            Assert.Equal(8, interrupted.Rows);
            Assert.Equal(new StoreCursor { Sequence = 2, SkipRows = 2 }, interrupted.Manifest.Cursor); // row 8 is row 2 of block 2
        }
        using (var writer = ActivationStoreWriter.Resume(path, Header()))
        {
            Assert.False(File.Exists(Path.Combine(path, "hook-000", "shard-000002.bin")));
            Assert.False(File.Exists(Path.Combine(path, ".manifest.json.99.4567.tmp")));
            var cursor = writer.Manifest.Cursor;
            AppendRange(writer, (int)cursor.Sequence * 3 + cursor.SkipRows, 17);
            writer.Finish(new StoreCursor { Sequence = 6 });
        }
        var actual = StoreTestData.Snapshot(path);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (file, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(actual[file]), file);
    }

    [Fact]
    public void Resume_DifferentHeader_RefusesAndChangesNothing()
    {
        var dir = Fixtures.NewTempDir();
        var path = Path.Combine(dir, "store");
        using (var writer = ActivationStoreWriter.Create(path, Header()))
            AppendRange(writer, 0, 9);
        var before = StoreTestData.Snapshot(path);
        var e = Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Resume(path, Header() with { BatchSize = 3 }));
        Assert.Contains("different batch size", e.Message);
        Assert.Equal("batch_size", e.Field);
        Assert.Contains("different hook list", Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Resume(path, Header() with { Hooks = Header().Hooks.Take(1).ToList() })).Message);
        var after = StoreTestData.Snapshot(path);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.Contains("no activation store here", Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Resume(Path.Combine(dir, "nope"))).Message);
    }

    [Fact]
    public void Resume_CompleteStore_TakesNoMoreRows()
    {
        var path = Uninterrupted(Fixtures.NewTempDir());
        using var writer = ActivationStoreWriter.Resume(path);
        Assert.True(writer.Manifest.Complete);
        Assert.Throws<InvalidOperationException>(() => writer.Append(Block(0, 1)));
        Assert.Throws<InvalidOperationException>(() => writer.Finish());
    }

    [Fact]
    public void Create_OverExistingStore_RefusesUnlessOverwrite()
    {
        var dir = Fixtures.NewTempDir();
        var path = Uninterrupted(dir);
        File.WriteAllText(Path.Combine(path, "notes.txt"), "mine");
        var before = StoreTestData.Snapshot(path);
        var e = Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Create(path, Header()));
        Assert.Contains("already holds an activation store", e.Message);
        var after = StoreTestData.Snapshot(path);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (file, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[file]), file);

        using (var writer = ActivationStoreWriter.Create(path, Header(rowsPerShard: 8), overwrite: true))
        {
            Assert.False(File.Exists(Path.Combine(path, "manifest.json")));
            Assert.False(Directory.Exists(Path.Combine(path, "hook-000")));
            writer.Append(Block(0, 2));
            writer.Finish();
        }
        using var store = ActivationStore.Open(path);
        Assert.Equal(2, store.Rows);
        Assert.Equal(8, store.RowsPerShard);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(path, "notes.txt"))); // not the store's to delete
    }

    [Fact]
    public void Create_ForeignFolderOrFileOrMalformedHeader_RefusesAndChangesNothing()
    {
        var dir = Fixtures.NewTempDir();
        var foreign = Directory.CreateDirectory(Path.Combine(dir, "foreign")).FullName;
        File.WriteAllText(Path.Combine(foreign, "thesis.tex"), "precious");
        Assert.Contains("not empty", Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Create(foreign, Header(), overwrite: true)).Message);
        Assert.Equal(["thesis.tex"], Directory.EnumerateFileSystemEntries(foreign).Select(Path.GetFileName));
        var file = Path.Combine(dir, "file");
        File.WriteAllText(file, "x");
        Assert.Contains("is a file", Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Create(file, Header())).Message);
        var withShards = Header() with { Rows = 4, Shards = [new StoreShard(0, 4, [])] };
        Assert.Equal("shards", Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Create(Path.Combine(dir, "s"), withShards)).Field);
        Assert.Equal("rows_per_shard", Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Create(Path.Combine(dir, "s"), Header(rowsPerShard: 0))).Field);
        Assert.False(Directory.Exists(Path.Combine(dir, "s")));
    }

    [Fact]
    public void Dispose_NothingCommitted_RemovesTheFolderItCreated()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "store");
        using (var writer = ActivationStoreWriter.Create(path, Header()))
            writer.Append(Block(0, RowsPerShard - 1));
        Assert.False(Directory.Exists(path));
    }

    [Fact]
    public void Create_WhileAnotherWriterHoldsTheLock_Refuses()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "store");
        using var first = ActivationStoreWriter.Create(path, Header());
        first.Append(Block(0, RowsPerShard));
        Assert.Contains("another harvest is writing this store", Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Resume(path)).Message);
    }

    [Fact]
    public void Append_BlocksOfDifferentRowCounts_Throws()
    {
        using var writer = ActivationStoreWriter.Create(Path.Combine(Fixtures.NewTempDir(), "store"), Header());
        Assert.Throws<ArgumentException>(() => writer.Append([Rows(0, 0, 2), Rows(1, 0, 3)]));
        Assert.Throws<ArgumentException>(() => writer.Append([Rows(0, 0, 2)]));
        Assert.Equal(0, writer.PendingRows);
    }

    private static Dictionary<string, byte[]> Files(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    [Fact]
    public void Resume_KilledBeforeFirstCommit_StartsFromZeroAndEqualsUninterrupted()
    {
        var dir = Fixtures.NewTempDir();
        var whole = Files(Uninterrupted(dir));
        var path = Path.Combine(dir, "killed");
        // What kill -9 leaves while the first shards are written: the lock, one renamed shard, one temporary, no manifest.
        Directory.CreateDirectory(Path.Combine(path, "hook-000"));
        Directory.CreateDirectory(Path.Combine(path, "hook-001"));
        File.WriteAllText(Path.Combine(path, ".lock"), "4242\n");
        File.WriteAllBytes(Path.Combine(path, "hook-000", "shard-000000.bin"), new byte[48]);
        File.WriteAllBytes(Path.Combine(path, "hook-001", ".shard-000000.bin.4242.00000000000000000000000000000000.tmp"), new byte[7]);
        Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Resume(path)); // without a header there is nothing to start from
        using (var writer = ActivationStoreWriter.Resume(path, Header()))
        {
            Assert.Equal(0, writer.Manifest.Rows);
            AppendRange(writer, 0, 17);
            writer.Finish(new StoreCursor { Sequence = 6 });
        }
        var resumed = Files(path);
        Assert.Equal(whole.Keys.Order(), resumed.Keys.Order());
        foreach (var (file, bytes) in whole) Assert.True(bytes.AsSpan().SequenceEqual(resumed[file]), $"{file} differs");
    }

    [Fact]
    public void Create_FolderWithOtherFilesBesideLeftovers_Refused()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "mine");
        Directory.CreateDirectory(Path.Combine(path, "hook-000"));
        File.WriteAllBytes(Path.Combine(path, "hook-000", "shard-000000.bin"), new byte[48]);
        File.WriteAllText(Path.Combine(path, "hook-000", "notes.txt"), "precious");
        Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Create(path, Header()));
        Assert.Throws<SaeSharpException>(() => ActivationStoreWriter.Resume(path, Header()));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(path, "hook-000", "notes.txt")));
        Assert.True(File.Exists(Path.Combine(path, "hook-000", "shard-000000.bin")));
    }
}
