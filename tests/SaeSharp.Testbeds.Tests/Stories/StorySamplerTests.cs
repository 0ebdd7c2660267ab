using SaeSharp.Hosts;
using SaeSharp.Testbeds.Stories;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Tests.Stories;

/// <summary>Sampling is reproducible, and steering with α = 0 is exactly no steering.</summary>
[Collection("Torch")]
public sealed class StorySamplerTests
{
    [Fact]
    public void Sample_AlphaZeroHook_EqualsUnsteered_LargeAlphaChangesSamples()
    {
        using var model = new HostTransformer(HostConfig.GptNeo(vocabSize: 24, contextLength: 20, modelDim: 16, headCount: 2, layerCount: 2, window: 4), seed: 1);
        long[][] prompts = [[3], [5], [7], [3], [11], [2]];
        var plain = StorySampler.Sample(model, prompts, endIndex: 0, maxLength: 20, temperature: 1, seed: 42);
        var again = StorySampler.Sample(model, prompts, endIndex: 0, maxLength: 20, temperature: 1, seed: 42);
        Assert.Equal(plain, again);
        Assert.All(plain, s => Assert.True(s.Length <= 20 && (s.Length == 20 || s[^1] == 0)));

        using var directionD = randn(16, generator: new TorchSharp.torch.Generator(3));
        IReadOnlyList<long[]> Steered(double alpha)
        {
            using var addD = directionD.mul(alpha);
            var hooks = new HostHooks().Replace("resid_post.0", xBTD => xBTD.add(addD, HeldScalars.One));
            return StorySampler.Sample(model, prompts, endIndex: 0, maxLength: 20, temperature: 1, seed: 42, hooks);
        }
        Assert.Equal(plain, Steered(0));
        Assert.NotEqual(plain, Steered(50));
        // Another seed draws other tokens from the same distribution.
        Assert.NotEqual(plain, StorySampler.Sample(model, prompts, endIndex: 0, maxLength: 20, temperature: 1, seed: 43));
    }

    [Fact]
    public void Sample_WithKvCache_DrawsTheSameTokensAsThePlainPath()
    {
        using var model = new HostTransformer(HostConfig.GptNeo(vocabSize: 24, contextLength: 20, modelDim: 16, headCount: 2, layerCount: 3, window: 4) with { InitStd = 0.3 }, seed: 2);
        long[][] prompts = [[3, 1], [5, 9], [7, 7], [3, 1], [11, 4], [2, 0], [8, 8], [1, 2]];
        // The end token is the one this model writes most, so that rows end at different lengths.
        long end = StorySampler.Sample(model, prompts, endIndex: -1, maxLength: 20, temperature: 0.8, seed: 5)
            .SelectMany(s => s.Skip(2)).GroupBy(id => id).OrderByDescending(g => g.Count()).First().Key;
        var cached = StorySampler.Sample(model, prompts, end, maxLength: 20, temperature: 0.8, seed: 5);
        Assert.Equal(StorySampler.SampleWithoutCache(model, prompts, end, maxLength: 20, temperature: 0.8, seed: 5), cached);
        // Rows end at different lengths, so the cache drops finished rows mid-batch.
        Assert.True(cached.Select(s => s.Length).Distinct().Count() > 1, string.Join(", ", cached.Select(s => s.Length)));

        using var addD = randn(16, generator: new TorchSharp.torch.Generator(4)).mul(3.0);
        HostHooks Steer() => new HostHooks().Replace("resid_post.1", xBTD => xBTD.add(addD, HeldScalars.One));
        var steered = StorySampler.Sample(model, prompts, end, maxLength: 20, temperature: 0.8, seed: 5, Steer());
        Assert.Equal(StorySampler.SampleWithoutCache(model, prompts, end, maxLength: 20, temperature: 0.8, seed: 5, Steer()), steered);
        Assert.NotEqual(cached, steered);
    }
}
