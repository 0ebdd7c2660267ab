using static TorchSharp.torch;

namespace SaeSharp.Tests;

[Collection("Torch")]
public sealed class SaeTests
{
    [Theory]
    [MemberData(nameof(TestArchitectures.Names), MemberType = typeof(TestArchitectures))]
    public void Sae_ForwardInEvalMode_EqualsDecodeOfEncode(string architecture)
    {
        using var sae = Sae.Create(new SaeConfig(8, 16, TestArchitectures.Create(architecture)), seed: 1);
        using var x = randn(5, 8, generator: new Generator(2));
        sae.eval();
        using var latents = sae.Encode(x);
        using var recon = sae.Decode(latents);
        var output = sae.forward(x);
        Assert.True(recon.allclose(output.ReconBD, rtol: 0, atol: 0));
        Assert.True(latents.allclose(output.LatentsBL, rtol: 0, atol: 0));
    }

    [Fact]
    public void TopKSae_Encode_HasAtMostKNonNegativeLatentsPerRow()
    {
        using var sae = Sae.Create(new SaeConfig(8, 32, new TopKArchitecture(4)), seed: 3);
        using var x = randn(50, 8, generator: new Generator(4));
        using var z = sae.Encode(x);
        using var counts = z.ne(0).sum(1);
        Assert.True(counts.le(4).all().item<bool>());
        Assert.True(z.ge(0).all().item<bool>());
        // The kept latents are the row's largest pre-activations.
        using var pre = sae.PreActivations(x);
        var (top, _) = pre.topk(4, dim: 1);
        using var expected = top.relu().sum(1);
        Assert.True(z.sum(1).allclose(expected, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void BatchTopKSae_TrainingForward_KeepsBatchTimesKLatents()
    {
        using var sae = Sae.Create(new SaeConfig(8, 32, new BatchTopKArchitecture(3)), seed: 5);
        using var x = randn(20, 8, generator: new Generator(6));
        sae.train();
        var output = sae.forward(x);
        Assert.Equal(20 * 3, output.LatentsBL.ne(0).sum().item<long>());
    }

    [Fact]
    public void Sae_Create_TopKDecoderRowsAreUnitNorm()
    {
        using var sae = Sae.Create(new SaeConfig(8, 32, new TopKArchitecture(4)), seed: 7);
        using var norms = sae.DecoderWeights.norm(1);
        Assert.True(norms.allclose(ones_like(norms), rtol: 1e-5, atol: 1e-5));
    }

    [Theory]
    [InlineData(0, 16, "d_in")]
    [InlineData(8, 0, "d_sae")]
    public void SaeConfig_Validate_BadSizes_NamesField(int d, int l, string field)
    {
        var error = Assert.Throws<SaeSharpException>(() => new SaeConfig(d, l, new TopKArchitecture(1)).Validate());
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void SaeConfig_Validate_KLargerThanLatents_NamesK()
    {
        var error = Assert.Throws<SaeSharpException>(() => new SaeConfig(8, 4, new TopKArchitecture(5)).Validate());
        Assert.Equal("k", error.Field);
    }
}
