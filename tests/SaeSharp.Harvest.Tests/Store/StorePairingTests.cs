using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Testing;

namespace SaeSharp.Harvest.Tests.Store;

/// <summary>Stores of two models are paired row by row only when they were harvested from the same token ids.</summary>
public sealed class StorePairingTests
{
    private static string Harvest(string dir, string ids, string name, string model) => Harvester.Run(new HarvestConfig
    {
        ModelPath = model,
        Hooks = new[] { "resid_pre.0" },
        OutputPath = Path.Combine(dir, name),
        TokenIdsPath = ids,
        ContextLength = 32,
        BatchSize = 2,
        Host = new OnnxHostOptions { IntraOpThreads = 1 },
    }).StorePath;

    private static string WriteIds(string dir, string name, int[][] sequences)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, "[" + string.Join(",", sequences.Select(s => "[" + string.Join(",", s) + "]")) + "]");
        return path;
    }

    [Fact]
    public void Check_SameTokenIdsTwoModels_Passes_DifferentIdsOrLengths_RefusedNamingTheStore()
    {
        var dir = Fixtures.NewTempDir();
        int[][] ids = [[10, 20, 30, 40], [50, 60, 70]];
        var same = WriteIds(dir, "ids.json", ids);
        var copy = WriteIds(dir, "copy.json", ids);
        var a = Harvest(dir, same, "a", Fixtures.FusedModel);
        var b = Harvest(dir, same, "b", Fixtures.FusedModel);
        var fromCopy = Harvest(dir, copy, "c", Fixtures.FusedModel);
        // Another model on the same ids, and the same ids from another file: both line up.
        StorePairing.Check([a, b]);
        StorePairing.Check([a, fromCopy]);

        var otherIds = Harvest(dir, WriteIds(dir, "other.json", [[10, 20, 31, 40], [50, 60, 70]]), "d", Fixtures.FusedModel);
        var e1 = Assert.Throws<SaeSharpException>(() => StorePairing.Check([a, otherIds]));
        Assert.Contains("different token ids", e1.Message, StringComparison.Ordinal);
        Assert.Equal(Path.GetFullPath(otherIds), e1.FilePath);

        var shorter = Harvest(dir, WriteIds(dir, "short.json", [[10, 20, 30, 40], [50, 60]]), "e", Fixtures.FusedModel);
        var e2 = Assert.Throws<SaeSharpException>(() => StorePairing.Check([a, shorter]));
        Assert.Contains("different token ids", e2.Message, StringComparison.Ordinal);

        Assert.Throws<SaeSharpException>(() => StorePairing.Check([a]));
    }
}
