using System.Security.Cryptography;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Testing;
using Xunit.Abstractions;

namespace SaeSharp.Harvest.Tests.Store;

public sealed class StoreLabelsTests(ITestOutputHelper output)
{
    private static readonly string[] Names = ["even_id", "first", "big_id"];

    private static string Harvest(string dir, string ids, string name = "store") => Harvester.Run(new HarvestConfig
    {
        ModelPath = Fixtures.FusedModel,
        Hooks = new[] { "resid_pre.0" },
        OutputPath = Path.Combine(dir, name),
        TokenIdsPath = ids,
        ContextLength = 32,
        BatchSize = 2,
        RowsPerShard = 10,
        Host = new OnnxHostOptions { IntraOpThreads = 1 },
    }).StorePath;

    /// <summary>Labels computed from the ids themselves, so a reader can check every row against its token.</summary>
    private static List<IReadOnlyList<ulong>> LabelsOf(int[][] sequences) =>
        sequences.Select(s => (IReadOnlyList<ulong>)s.Select((id, p) => (id % 2 == 0 ? 1UL : 0) | (p == 0 ? 2UL : 0) | (id > 200 ? 4UL : 0)).ToArray()).ToList();

    [Fact]
    public void WriteRead_RoundTrip_RowsInHarvestOrder()
    {
        var dir = Fixtures.NewTempDir();
        var store = Harvest(dir, Fixtures.GptNeo("token_ids.json"));
        var sequences = SaeSharp.Harvest.Corpus.TokenIdsFile.Read(Fixtures.GptNeo("token_ids.json"));
        StoreLabels.Write(store, Names, LabelsOf(sequences));
        var labels = StoreLabels.Read(store);
        Assert.Equal(Names, labels.Names);
        Assert.Equal(sequences.Select(s => s.Length), labels.SequenceLengths);
        Assert.Equal(sequences.Sum(s => s.Length), labels.Rows);
        var flat = sequences.SelectMany(s => s.Select((id, p) => (id, p))).ToArray();
        var even = labels.Column(0);
        for (int r = 0; r < flat.Length; r++)
        {
            Assert.Equal(flat[r].id % 2 == 0, even[r]);
            Assert.Equal(flat[r].p == 0, labels.Has(r, 1));
            Assert.Equal(flat[r].id > 200, labels.Has(r, 2));
        }
        Assert.Equal(sequences.Length, labels.Count(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => labels.Has(labels.Rows, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => labels.Column(3));
    }

    [Fact]
    public void Write_BadInput_OneClearErrorAndNothingWritten()
    {
        var dir = Fixtures.NewTempDir();
        var store = Harvest(dir, Fixtures.GptNeo("token_ids.json"));
        var sequences = SaeSharp.Harvest.Corpus.TokenIdsFile.Read(Fixtures.GptNeo("token_ids.json"));
        var path = Path.Combine(store, StoreLabels.FileName);
        var e1 = Assert.Throws<SaeSharpException>(() => StoreLabels.Write(store, Names, LabelsOf(sequences[..^1])));
        Assert.Contains($"store has {sequences.Sum(s => s.Length)} rows", e1.Message);
        Assert.Contains("distinct", Assert.Throws<SaeSharpException>(() => StoreLabels.Write(store, ["a", "a", "b"], LabelsOf(sequences))).Message);
        Assert.Contains("past the 2 labels", Assert.Throws<SaeSharpException>(() => StoreLabels.Write(store, ["a", "b"], LabelsOf(sequences))).Message);
        Assert.Contains("no manifest.json", Assert.Throws<SaeSharpException>(() => StoreLabels.Write(dir, Names, LabelsOf(sequences))).Message);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.EnumerateFiles(store, ".labels*"));
        StoreLabels.Write(store, Names, LabelsOf(sequences));
        Assert.Contains("pass `overwrite`", Assert.Throws<SaeSharpException>(() => StoreLabels.Write(store, Names, LabelsOf(sequences))).Message);
        StoreLabels.Write(store, Names, LabelsOf(sequences), overwrite: true);
    }

    [Fact]
    public void Read_CorruptTruncatedVersionOrOtherStore_ClearErrors()
    {
        var dir = Fixtures.NewTempDir();
        var store = Harvest(dir, Fixtures.GptNeo("token_ids.json"));
        var sequences = SaeSharp.Harvest.Corpus.TokenIdsFile.Read(Fixtures.GptNeo("token_ids.json"));
        var path = Path.Combine(store, StoreLabels.FileName);
        Assert.Contains("no label file", Assert.Throws<SaeSharpException>(() => StoreLabels.Read(store)).Message);
        StoreLabels.Write(store, Names, LabelsOf(sequences));
        var good = File.ReadAllBytes(path);

        File.WriteAllBytes(path, good[..^5]);
        Assert.Contains("truncated", Assert.Throws<SaeSharpException>(() => StoreLabels.Read(store)).Message);
        var flipped = (byte[])good.Clone();
        flipped[^40] ^= 1;
        File.WriteAllBytes(path, flipped);
        Assert.Contains("checksum mismatch", Assert.Throws<SaeSharpException>(() => StoreLabels.Read(store)).Message);
        var version = (byte[])good.Clone();
        version[8] = 2;
        File.WriteAllBytes(path, Rehash(version));
        Assert.Contains("version 2", Assert.Throws<SaeSharpException>(() => StoreLabels.Read(store)).Message);

        // The same labels beside a store of other sequences: the row count gives it away.
        var otherIds = Path.Combine(dir, "other.json");
        File.WriteAllText(otherIds, "[[1, 2, 3], [4, 5]]");
        var other = Harvest(dir, otherIds, "other");
        File.WriteAllBytes(Path.Combine(other, StoreLabels.FileName), good);
        var e = Assert.Throws<SaeSharpException>(() => StoreLabels.Read(other));
        Assert.Contains("labelled rows but the store's manifest has 5", e.Message);
        Assert.Contains(StoreLabels.FileName, e.FilePath);
        // Same row count, other input: the input fingerprint gives it away.
        File.WriteAllText(otherIds, "[" + string.Join(", ", sequences.Select(s => "[" + string.Join(", ", s.Select(id => (id + 1) % 384)) + "]")) + "]");
        var shifted = Harvest(dir, otherIds, "shifted");
        File.WriteAllBytes(Path.Combine(shifted, StoreLabels.FileName), good);
        Assert.Contains("another input", Assert.Throws<SaeSharpException>(() => StoreLabels.Read(shifted)).Message);
    }

    [Fact]
    public void Read_Fuzzed_ReadsOrThrowsSaeSharpException()
    {
        var dir = Fixtures.NewTempDir();
        var store = Harvest(dir, Fixtures.GptNeo("token_ids.json"));
        var sequences = SaeSharp.Harvest.Corpus.TokenIdsFile.Read(Fixtures.GptNeo("token_ids.json"));
        StoreLabels.Write(store, Names, LabelsOf(sequences));
        var path = Path.Combine(store, StoreLabels.FileName);
        var seed = File.ReadAllBytes(path);
        // Half the cases fix the checksum up, so the mutation reaches the structural checks behind it.
        Fuzz.Run([seed], 600, bytes => { File.WriteAllBytes(path, bytes); StoreLabels.Read(store); }, TimeSpan.FromSeconds(3),
            mutate: (s, rng) => rng.Next(2) == 0 ? Fuzz.Mutate(s, rng) : Rehash(Fuzz.Mutate(s, rng)), log: output.WriteLine);
    }

    private static byte[] Rehash(byte[] file)
    {
        if (file.Length < 32) return file;
        SHA256.HashData(file.AsSpan(0, file.Length - 32)).CopyTo(file, file.Length - 32);
        return file;
    }
}
