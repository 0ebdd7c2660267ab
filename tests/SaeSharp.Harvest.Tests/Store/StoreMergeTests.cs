using System.Text.Json;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Harvest.Tests.Store;

/// <summary>A harvest split into parts (<see cref="HarvestConfig.Shard"/>) and merged (<see cref="StoreMerge"/>) against the same harvest run whole.</summary>
public sealed class StoreMergeTests
{
    [Fact]
    public void HarvestShard_Sequences_ContiguousWholeBatchesCoveringEverySequenceOnce()
    {
        foreach (long sequences in new long[] { 0, 1, 5, 8, 9, 100, 1001 })
            foreach (int batch in new[] { 1, 3, 8 })
                foreach (int count in new[] { 1, 2, 3, 7, 200 })
                {
                    long next = 0;
                    for (int i = 0; i < count; i++)
                    {
                        var (first, end) = new HarvestShard(i, count).Sequences(sequences, batch);
                        Assert.Equal(next, first);
                        Assert.True(end >= first);
                        Assert.True(first % batch == 0 || first == sequences, $"part {i} of {count} starts inside a batch");
                        next = end;
                    }
                    Assert.Equal(sequences, next);
                }
    }

    [Theory]
    [InlineData(-1, 3)]
    [InlineData(3, 3)]
    [InlineData(0, 0)]
    public void HarvestShard_Validate_OutOfRange_NamesShard(int index, int count) =>
        Assert.Equal("shard", Assert.Throws<SaeSharpException>(() => new HarvestShard(index, count).Validate()).Field);

    [Fact]
    public void Merge_CorpusPartsWithShortLastContext_EqualsWholeHarvestFileForFile()
    {
        var dir = Fixtures.NewTempDir();
        HarvestConfig Config(string output) => new()
        {
            ModelPath = Fixtures.DecomposedModel, Hooks = ["resid_pre.0", "resid_mid.1"], OutputPath = Path.Combine(dir, output),
            TokenizerPath = Fixtures.GptNeo("vocab.json"), CorpusPath = Fixtures.GptNeo("corpus.txt"), ContextLength = 7, Tokens = 95, Seed = 3,
            BatchSize = 2, RowsPerShard = 10, Host = new OnnxHostOptions { IntraOpThreads = 1 },
        };
        Harvester.Run(Config("whole"));
        var parts = Enumerable.Range(0, 4).Select(i => Harvester.Run(Config($"part{i}") with { Shard = new HarvestShard(i, 4) }).StorePath).ToList();
        var part1 = StoreManifest.Read(parts[1]).HarvestShard!;
        Assert.Equal((1, 4), (part1.Index, part1.Count));
        Assert.Equal(StoreManifest.Read(parts[1]).Input.Source.Sha256, part1.CorpusSha256);

        parts.Reverse(); // any order
        var merged = StoreMerge.Merge(parts, Path.Combine(dir, "merged"));
        Assert.Equal(95, merged.Rows);
        Assert.Equal(4, merged.Parts);
        AssertSameFiles(Path.Combine(dir, "whole"), merged.StorePath);
    }

    [Fact]
    public void Merge_LabelledTokenIdParts_LabelsEqualThoseOfTheWholeStore()
    {
        var dir = Fixtures.NewTempDir();
        var rng = new Random(4);
        var sequences = Enumerable.Range(0, 23).Select(_ => Enumerable.Range(0, rng.Next(1, 12)).Select(_ => rng.Next(384)).ToArray()).ToArray();
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, JsonSerializer.Serialize(sequences));
        var bits = sequences.Select(s => s.Select(id => (id % 5 == 0 ? 1UL : 0UL) | (id % 2 == 1 ? 2UL : 0UL)).ToArray()).ToArray();
        string[] names = ["fifth", "odd"];
        HarvestConfig Config(string output) => new()
        {
            ModelPath = Fixtures.FusedModel, Hooks = ["resid_post.2"], OutputPath = Path.Combine(dir, output), TokenIdsPath = ids,
            ContextLength = 16, BatchSize = 3, Tokens = 100, RowsPerShard = 17, Host = new OnnxHostOptions { IntraOpThreads = 1 },
        };
        var whole = Harvester.Run(Config("whole"));
        Assert.Equal(100, whole.Rows); // the token target cuts the last sequence short, in the whole harvest and in its last part
        var parts = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var part = Harvester.Run(Config($"part{i}") with { Shard = new HarvestShard(i, 3) });
            var m = StoreManifest.Read(part.StorePath).HarvestShard!;
            StoreLabels.Write(part.StorePath, names, Cut(bits, m.FirstSequence, m.EndSequence, 100 - m.FirstRow));
            parts.Add(part.StorePath);
        }
        StoreLabels.Write(whole.StorePath, names, Cut(bits, 0, bits.Length, 100));

        var merged = StoreMerge.Merge(parts, Path.Combine(dir, "merged"));
        Assert.True(merged.Labels);
        AssertSameFiles(whole.StorePath, merged.StorePath);
    }

    [Fact]
    public void Merge_LabelsOnSomePartsOnly_RefusedWritingNothing()
    {
        var dir = Fixtures.NewTempDir();
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, JsonSerializer.Serialize(Enumerable.Range(0, 6).Select(i => new[] { i, i + 1, i + 2 })));
        var parts = Enumerable.Range(0, 2).Select(i => Harvester.Run(new HarvestConfig
        {
            ModelPath = Fixtures.FusedModel, Hooks = ["resid_pre.0"], OutputPath = Path.Combine(dir, $"part{i}"), TokenIdsPath = ids,
            BatchSize = 2, Shard = new HarvestShard(i, 2), Host = new OnnxHostOptions { IntraOpThreads = 1 },
        }).StorePath).ToList();
        StoreLabels.Write(parts[1], ["any"], [[1UL, 0, 1], [0UL, 0, 0], [1UL, 1, 1], [0UL, 1, 0]]); // part 1: batches 1 and 2 of 3, sequences 2 to 5
        var error = Assert.Throws<SaeSharpException>(() => StoreMerge.Merge(parts, Path.Combine(dir, "merged")));
        Assert.Equal("labels", error.Field);
        Assert.False(Directory.Exists(Path.Combine(dir, "merged")));
    }

    [Fact]
    public void Merge_IntoOneOfTheParts_Refused()
    {
        var dir = Fixtures.NewTempDir();
        var ids = Path.Combine(dir, "ids.json");
        File.WriteAllText(ids, "[[1, 2, 3]]");
        var part = Harvester.Run(new HarvestConfig
        {
            ModelPath = Fixtures.FusedModel, Hooks = ["resid_pre.0"], OutputPath = Path.Combine(dir, "part"), TokenIdsPath = ids,
            Shard = new HarvestShard(0, 1), Host = new OnnxHostOptions { IntraOpThreads = 1 },
        }).StorePath;
        var manifest = File.ReadAllBytes(Path.Combine(part, "manifest.json"));
        Assert.Equal("output_path", Assert.Throws<SaeSharpException>(() => StoreMerge.Merge([part], part, overwrite: true)).Field);
        Assert.Equal(manifest, File.ReadAllBytes(Path.Combine(part, "manifest.json")));
    }

    /// <summary>The label bitsets of sequences [first, end), the last cut to what stays under <paramref name="rowsLeft"/>.</summary>
    private static IReadOnlyList<IReadOnlyList<ulong>> Cut(ulong[][] bits, long first, long end, long rowsLeft)
    {
        var result = new List<IReadOnlyList<ulong>>();
        for (long s = first; s < end && rowsLeft > 0; s++)
        {
            var take = bits[s].Take((int)Math.Min(bits[s].Length, rowsLeft)).ToArray();
            result.Add(take);
            rowsLeft -= take.Length;
        }
        return result;
    }

    private static void AssertSameFiles(string expected, string actual)
    {
        static Dictionary<string, byte[]> Files(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != ".lock").ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);
        var a = Files(expected);
        var b = Files(actual);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (file, bytes) in a) Assert.True(bytes.AsSpan().SequenceEqual(b[file]), $"{file} differs");
    }
}
