using SaeSharp.Analysis;
using SaeSharp.Internals;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Analysis;

[Collection("Torch")]
public sealed class LobeGeometryTests(ITestOutputHelper output)
{
    private const int Groups = 6, PerGroup = 10, BlockSize = 16, Blocks = 240, Width = 24;

    /// <summary>
    /// Planted lobes: latents come in 6 groups of 10; each block of 16 rows switches on 2 groups, whose latents then
    /// fire on random rows of it. When each group's decoder rows point near a group direction, co-occurrence and
    /// geometry give the same clusters (AMI near 1); shuffling one clustering gives the null (about 0).
    /// </summary>
    [Fact]
    public void LobeGeometry_Analyze_PlantedLobesAlignedWithDecoder_AmiNearOneNullNearZero()
    {
        using var scope = NewDisposeScope();
        var latents = PlantedLatents(seed: 1);
        var decoder = GroupedDecoder(seed: 2);

        var result = LobeGeometry.Analyze(LatentActivations.FromTensor(latents, batchSize: 100), decoder,
            new LobeOptions { BlockSize = BlockSize, Clusters = Groups });
        output.WriteLine($"phi AMI {result.LobesAmi:F4} null {result.LobesNullAmi:F4}; jaccard AMI {result.JaccardAmi:F4} null {result.JaccardNullAmi:F4}");

        Assert.Equal(Blocks, result.Blocks);
        Assert.Equal(Groups * PerGroup, result.Latents.Count);
        Assert.InRange(result.LobesAmi, 0.9, 1.0 + 1e-9);
        Assert.InRange(result.JaccardAmi, 0.9, 1.0 + 1e-9);
        Assert.InRange(result.LobesNullAmi, -0.03, 0.03);
        Assert.InRange(result.JaccardNullAmi, -0.03, 0.03);
        // The phi clusters are the planted groups themselves.
        var planted = result.Latents.Select(i => i / PerGroup).ToArray();
        Assert.True(ClusterAgreement.AdjustedMutualInformation(planted, [.. result.PhiClusters]) > 0.95);
        Assert.Equal(result.Latents.Count, result.PhiAffinity.GetLength(0));
    }

    /// <summary>The same co-occurrence with decoder rows unrelated to the groups: the two clusterings no longer agree.</summary>
    [Fact]
    public void LobeGeometry_Analyze_DecoderUnrelatedToLobes_AmiNearNull()
    {
        using var scope = NewDisposeScope();
        var latents = PlantedLatents(seed: 1);
        using var generator = new Generator(9);
        var decoder = randn(Groups * PerGroup, Width, generator: generator);

        var result = LobeGeometry.Analyze(LatentActivations.FromTensor(latents), decoder, new LobeOptions { BlockSize = BlockSize, Clusters = Groups });
        output.WriteLine($"phi AMI {result.LobesAmi:F4} null {result.LobesNullAmi:F4}");

        Assert.InRange(result.LobesAmi, -0.1, 0.15);
    }

    [Fact]
    public void LobeGeometry_Analyze_TooFewRows_ThrowsNamingBlocks()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<SaeSharpException>(() => LobeGeometry.Analyze(
            LatentActivations.FromTensor(ones(300, 20)), ones(20, 4), new LobeOptions()));
        Assert.Contains("300 rows make 1 block(s) of 256", error.Message);
    }

    [Fact]
    public void LobeGeometry_Analyze_DecoderRowsDoNotMatchLatents_Throws()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<SaeSharpException>(() => LobeGeometry.Analyze(LatentActivations.FromTensor(ones(600, 20)), ones(19, 4)));
        Assert.Contains("there are 20 latents", error.Message);
    }

    [Fact]
    public void LobeGeometry_Analyze_LatentsFiringEverywhere_ThrowsTooFewLatents()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<SaeSharpException>(() => LobeGeometry.Analyze(LatentActivations.FromTensor(ones(600, 20)), ones(20, 4)));
        Assert.Contains("only 0 latents fire in some but not every one", error.Message);
    }

    /// <summary>scikit-learn's documented values: identical up to renaming 1, a split against one cluster 0, a split against singletons 0.</summary>
    [Fact]
    public void ClusterAgreement_AdjustedMutualInformation_MatchesKnownValues()
    {
        Assert.Equal(1.0, ClusterAgreement.AdjustedMutualInformation([0, 0, 1, 1], [1, 1, 0, 0]), 1e-12);
        Assert.Equal(0.0, ClusterAgreement.AdjustedMutualInformation([0, 0, 1, 1], [0, 0, 0, 0]), 1e-12);
        Assert.Equal(0.0, ClusterAgreement.AdjustedMutualInformation([0, 0, 1, 1], [0, 1, 2, 3]), 1e-12);
        // Partial agreement lies strictly between, and random labels of many points average about 0.
        double partial = ClusterAgreement.AdjustedMutualInformation([0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 1, 1, 1, 2, 2, 2, 0]);
        Assert.InRange(partial, 0.01, 0.99);
        var random = new Random(3);
        double mean = Enumerable.Range(0, 50).Average(_ => ClusterAgreement.AdjustedMutualInformation(
            [.. Enumerable.Range(0, 200).Select(_ => random.Next(5))], [.. Enumerable.Range(0, 200).Select(_ => random.Next(5))]));
        Assert.InRange(mean, -0.01, 0.01);
    }

    private static Tensor PlantedLatents(int seed)
    {
        var random = new Random(seed);
        var z = new float[Blocks * BlockSize * Groups * PerGroup];
        int l = Groups * PerGroup;
        for (int block = 0; block < Blocks; block++)
        {
            int g1 = random.Next(Groups), g2 = (g1 + 1 + random.Next(Groups - 1)) % Groups;
            for (int row = 0; row < BlockSize; row++)
                foreach (int g in new[] { g1, g2 })
                    for (int j = 0; j < PerGroup; j++)
                        if (random.NextDouble() < 0.3)
                            z[((long)block * BlockSize + row) * l + g * PerGroup + j] = (float)(0.5 + random.NextDouble());
        }
        return tensor(z, [Blocks * BlockSize, l]);
    }

    private static Tensor GroupedDecoder(int seed)
    {
        using var generator = new Generator((ulong)seed);
        using var spread = 0.3.ToScalar();
        var directions = randn(Groups, Width, generator: generator);
        var group = arange(Groups * PerGroup, dtype: ScalarType.Int64).div(PerGroup, RoundingMode.floor);
        return directions.index_select(0, group).add(randn(Groups * PerGroup, Width, generator: generator).mul(spread), HeldScalars.One);
    }
}
