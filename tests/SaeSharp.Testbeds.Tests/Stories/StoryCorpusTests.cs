using SaeSharp.Harvest;
using SaeSharp.Harvest.Corpus;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Testbeds.Stories;
using SaeSharp.Testing;

namespace SaeSharp.Testbeds.Tests.Stories;

public sealed class StoryCorpusTests
{
    private static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "saesharp-testbeds-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void WriteTokenIds_ReadsBackAsTheStoriesIds_RefusesToOverwrite()
    {
        var dir = NewTempDir();
        var stories = new StoryGenerator(new StoryGeneratorOptions { Seed = 2 }).Generate(5);
        var path = Path.Combine(dir, "ids.json");
        StoryCorpus.WriteTokenIds(path, stories);
        Assert.Equal(stories.Select(s => s.TokenIds.ToArray()), TokenIdsFile.Read(path));
        Assert.Contains("overwrite", Assert.Throws<SaeSharpException>(() => StoryCorpus.WriteTokenIds(path, stories)).Message);
    }

    [Fact]
    public void WriteStoreLabels_RealHarvest_RowsLineUpWithTokens()
    {
        var dir = NewTempDir();
        // The ONNX fixture embeds 384 ids and 64 positions: harvest each story's first 40 tokens, ids taken mod 384.
        // The ids change, the labels do not, and rows are what this test aligns.
        var stories = new StoryGenerator(new StoryGeneratorOptions { Seed = 11 }).Generate(9)
            .Select(s => new Story(s.Text, s.TokenIds.Take(40).Select(id => id % 384).ToArray(), s.TokenLabels.Take(40).ToArray()))
            .ToList();
        var ids = Path.Combine(dir, "ids.json");
        StoryCorpus.WriteTokenIds(ids, stories);
        var store = Harvester.Run(new HarvestConfig
        {
            ModelPath = RepositoryPaths.Fixture("gptneo", "gptneo-fused.onnx"),
            Hooks = ["resid_pre.0"],
            OutputPath = Path.Combine(dir, "store"),
            TokenIdsPath = ids,
            ContextLength = 64,
            BatchSize = 4,
            RowsPerShard = 100,
            Host = new OnnxHostOptions { IntraOpThreads = 1 },
        }).StorePath;
        StoryCorpus.WriteStoreLabels(store, stories);

        var labels = StoreLabels.Read(store);
        Assert.Equal(StoryLabels.Names, labels.Names);
        Assert.Equal(stories.Select(s => s.TokenIds.Count), labels.SequenceLengths);
        using var activations = ActivationStore.Open(store);
        Assert.Equal(activations.Rows, labels.Rows);
        int d = activations.Hooks[0].D;
        var rowsND = new float[activations.Rows * d];
        activations.ReadRows(0, 0, (int)activations.Rows, rowsND);

        // Row r is (story s, position p) by the label file's lengths; its labels are that token's, and its
        // activation at the embedding hook (token embedding + position embedding) depends on (id, p) alone:
        // equal keys give equal rows and different keys different rows, so an off-by-one would show.
        var byKey = new Dictionary<(int Id, int P), long>();
        long row = 0;
        for (int s = 0; s < stories.Count; s++)
            for (int p = 0; p < labels.SequenceLengths[s]; p++, row++)
            {
                for (int l = 0; l < StoryLabels.Names.Count; l++) Assert.Equal(stories[s].HasLabel(p, l), labels.Has(row, l));
                var key = (stories[s].TokenIds[p], p);
                if (byKey.TryGetValue(key, out var first))
                    Assert.True(rowsND.AsSpan((int)(first * d), d).SequenceEqual(rowsND.AsSpan((int)(row * d), d)), $"rows {first} and {row} share {key}");
                else byKey[key] = row;
            }
        Assert.True(byKey.Count < row, "some (id, position) pairs should repeat across stories (every story opens alike)");
        var keys = byKey.ToList();
        for (int i = 1; i < keys.Count; i++)
            Assert.False(rowsND.AsSpan((int)(keys[i - 1].Value * d), d).SequenceEqual(rowsND.AsSpan((int)(keys[i].Value * d), d)));
        int name = StoryLabels.IndexOf("name");
        Assert.True(labels.Count(name) > 9);
    }
}
