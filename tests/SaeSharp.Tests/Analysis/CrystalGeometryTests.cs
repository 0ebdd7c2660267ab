using SaeSharp.Analysis;
using SaeSharp.Internals;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Analysis;

[Collection("Torch")]
public sealed class CrystalGeometryTests(ITestOutputHelper output)
{
    /// <summary>
    /// Planted relations: b = a + r_relation + small noise + s·u, with u one distractor direction shared by every pair
    /// and s a large per-pair scale (the "word length" direction of the paper). The raw differences are dominated by
    /// the distractor; the held-out LDA removes it and the relations cluster far above the shuffled null.
    /// </summary>
    [Fact]
    public void CrystalGeometry_Analyze_PlantedRelationsWithDistractor_LdaClustersAboveNull()
    {
        const int perRelation = 20, d = 32;
        using var scope = NewDisposeScope();
        var (first, second, relations) = Planted(perRelation, d, relationScale: 1.0, seed: 4);

        var result = CrystalGeometry.Analyze(first, second, relations, new CrystalOptions { NullPermutations = 20 });
        output.WriteLine(result.ToString());

        Assert.Equal(3 * perRelation, result.Pairs);
        Assert.Equal(["plural", "past", "female"], result.Relations);
        Assert.Equal(2, result.LdaDimensions);
        Assert.True(result.Silhouette > 0.5, $"LDA silhouette {result.Silhouette}");
        Assert.InRange(result.SilhouetteNull, -0.3, 0.05);
        Assert.True(result.Silhouette > result.RawSilhouette + 0.2, "the LDA removes the distractor direction");
        Assert.True(result.ParallelogramQuality < result.ParallelogramNull, "pairs of one relation make better parallelograms");
    }

    /// <summary>Relation labels that say nothing about the differences: the silhouette is that of the null.</summary>
    [Fact]
    public void CrystalGeometry_Analyze_NoRelationSignal_SilhouetteAtNull()
    {
        using var scope = NewDisposeScope();
        var (first, second, relations) = Planted(20, 32, relationScale: 0, seed: 5);

        var result = CrystalGeometry.Analyze(first, second, relations, new CrystalOptions { NullPermutations = 20 });
        output.WriteLine(result.ToString());

        Assert.InRange(result.Silhouette - result.SilhouetteNull, -0.1, 0.1);
    }

    [Fact]
    public void CrystalGeometry_ParallelogramQuality_PerfectIsZeroAndSkewedIsPositive()
    {
        double[] a = [0, 0], b = [1, 0], c = [0, 2], d = [1, 2];
        Assert.Equal(0, CrystalGeometry.ParallelogramQuality(a, b, c, d), 1e-12);
        // |ab| = 1, |cd| = 2, |ac| = 2, |bd| = √5 − … worked by hand: d' = (2, 2).
        double[] skewed = [2, 2];
        double ab = 1, cd = 2, ac = 2, bd = Math.Sqrt(5), bc = Math.Sqrt(5), ad = Math.Sqrt(8);
        double expected = Math.Sqrt((ab - cd) * (ab - cd) + (ac - bd) * (ac - bd)) / Math.Sqrt((ab * ab + bc * bc + cd * cd + ad * ad) / 2);
        Assert.Equal(expected, CrystalGeometry.ParallelogramQuality(a, b, c, skewed), 1e-12);
    }

    /// <summary>Silhouette against values worked by hand on two clusters on a line.</summary>
    [Fact]
    public void Clusters_Silhouette_TwoClustersOnALine_MatchesHandValue()
    {
        double[][] points = [[0], [1], [10], [11]];
        // Point 0: a = 1, b = (10 + 11)/2 = 10.5 → 9.5/10.5; point 1: a = 1, b = 9.5 → 8.5/9.5; symmetric for the others.
        double expected = (9.5 / 10.5 + 8.5 / 9.5) / 2;
        Assert.Equal(expected, Clusters.Silhouette(points, [0, 0, 1, 1]), 1e-12);
    }

    [Fact]
    public void CrystalGeometry_Analyze_RelationWithTooFewPairs_ThrowsNamingIt()
    {
        using var scope = NewDisposeScope();
        var (first, second, relations) = Planted(4, 8, 1.0, seed: 1);
        string[] fewer = [.. relations.Select((r, i) => i == 0 ? "rare" : r)];
        var error = Assert.Throws<SaeSharpException>(() => CrystalGeometry.Analyze(first, second, fewer));
        Assert.Contains("relation \"rare\" has 1 pairs", error.Message);
        var mismatch = Assert.Throws<SaeSharpException>(() => CrystalGeometry.Analyze(first, second, relations.Take(5).ToArray()));
        Assert.Contains("5 relation labels for 12 pairs", mismatch.Message);
    }

    private static (Tensor First, Tensor Second, string[] Relations) Planted(int perRelation, int d, double relationScale, int seed)
    {
        string[] names = ["plural", "past", "female"];
        using var generator = new Generator((ulong)seed);
        int p = names.Length * perRelation;
        using var wordScale = 3.0.ToScalar();
        using var relationScalar = relationScale.ToScalar();
        using var noise = 0.3.ToScalar();
        using var distractorScale = 4.0.ToScalar();
        var first = randn(p, d, generator: generator).mul(wordScale);
        var relationVectors = randn(names.Length, d, generator: generator).mul(relationScalar);
        var label = arange(p, dtype: ScalarType.Int64).div(perRelation, RoundingMode.floor);
        var distractor = randn(1, d, generator: generator);
        var second = first.add(relationVectors.index_select(0, label), HeldScalars.One)
            .add(randn(p, d, generator: generator).mul(noise), HeldScalars.One)
            .add(randn(p, 1, generator: generator).mul(distractorScale).mul(distractor), HeldScalars.One);
        return (first, second, [.. Enumerable.Range(0, p).Select(i => names[i / perRelation])]);
    }
}
