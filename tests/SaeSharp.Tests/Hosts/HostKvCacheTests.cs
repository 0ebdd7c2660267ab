using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Hosts;

/// <summary>Incremental decoding with a key/value cache computes what the full forward computes at the new positions.</summary>
[Collection("Torch")]
public sealed class HostKvCacheTests
{
    /// <summary>Global, local, global attention; a context five times the window; weights large enough that logits differ.</summary>
    private static HostConfig Config => HostConfig.GptNeo(vocabSize: 30, contextLength: 16, modelDim: 16, headCount: 2, layerCount: 3, window: 3) with { InitStd = 0.4 };

    private static HostTransformer Model()
    {
        var model = new HostTransformer(Config, seed: 5);
        using var noGrad = no_grad();
        using var g = new Generator(6);
        // Non-trivial LayerNorms and biases, so that every parameter takes part.
        foreach (var (name, weight) in model.NamedWeights())
            if (name.Contains("ln_", StringComparison.Ordinal) || name.EndsWith("bias", StringComparison.Ordinal))
                weight.add_(randn(weight.shape, generator: g).mul(0.3));
        return model;
    }

    /// <summary>A steering-like hook (adds a fixed vector) and a scaling one, both per-position.</summary>
    private static HostHooks Hooks(Tensor addD) => new HostHooks()
        .Replace(HostHooks.ResidPost(0), xBTD => xBTD.add(addD, HeldScalars.One))
        .Replace(HostHooks.ResidMid(1), xBTD => xBTD.mul(HeldScalars.Half));

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = expected.sub(actual).abs().max().item<float>();
        Assert.True(diff <= 1e-5, $"{what}: max |Δ| {diff}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardIncremental_OneTokenASteps_EqualsFullForwardLastPosition(bool hooked)
    {
        using var model = Model();
        model.eval();
        using var addD = randn(16, generator: new Generator(7));
        using var idsBT = randint(0, Config.VocabSize, [4, Config.ContextLength], generator: new Generator(8));
        using var cache = model.CreateKvCache(4);
        // The spread of logits shows the comparison is not between near-constant rows.
        double spread = 0;
        for (int t = 0; t < Config.ContextLength; t++)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var incrementalBV = model.ForwardIncremental(idsBT.narrow(1, t, 1), cache, hooked ? Hooks(addD) : null).select(1, 0);
            var fullBV = model.Forward(idsBT.narrow(1, 0, t + 1), hooked ? Hooks(addD) : null).select(1, t);
            AssertClose(fullBV, incrementalBV, $"position {t}");
            spread = Math.Max(spread, fullBV.std().item<float>());
            Assert.Equal(t + 1, cache.Length);
        }
        Assert.True(spread > 0.5, $"logit spread {spread}");
    }

    [Fact]
    public void ForwardIncremental_ChunksAndDroppedRows_EqualFullForward()
    {
        using var model = Model();
        model.eval();
        using var addD = randn(16, generator: new Generator(9));
        using var idsBT = randint(0, Config.VocabSize, [5, Config.ContextLength], generator: new Generator(10));
        using var cache = model.CreateKvCache(5);
        long[] rows = [0, 1, 2, 3, 4];
        int t = 0;
        // Chunks of several tokens that straddle the local window's edge, and rows dropped between them.
        foreach (var (n, keep) in new (int, long[]?)[] { (4, null), (1, [0, 2, 3, 4]), (3, null), (2, [3, 0, 1]), (5, null), (1, [1]) })
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            if (keep is not null)
            {
                cache.KeepRows(keep);
                rows = keep.Select(k => rows[k]).ToArray();
            }
            using var rowIndex = tensor(rows);
            var subBT = idsBT.index_select(0, rowIndex);
            var incrementalBNV = model.ForwardIncremental(subBT.narrow(1, t, n), cache, Hooks(addD));
            var fullBNV = model.Forward(subBT.narrow(1, 0, t + n), Hooks(addD)).narrow(1, t, n);
            AssertClose(fullBNV, incrementalBNV, $"positions {t}..{t + n - 1}");
            t += n;
        }
        Assert.Equal(Config.ContextLength, cache.Length);
        Assert.Equal(1, cache.BatchSize);
    }

    [Fact]
    public void ForwardIncremental_BadInput_IsRefused()
    {
        using var model = Model();
        using var cache = model.CreateKvCache(2);
        using var twelve = zeros([2, 12], ScalarType.Int64);
        using var five = zeros([2, 5], ScalarType.Int64);
        using var threeRows = zeros([3, 1], ScalarType.Int64);
        model.ForwardIncremental(twelve, cache).Dispose();
        Assert.Contains("context length", Assert.Throws<SaeSharpException>(() => model.ForwardIncremental(five, cache)).Message);
        Assert.Equal(12, cache.Length);
        Assert.Contains("cache holds 2", Assert.Throws<SaeSharpException>(() => model.ForwardIncremental(threeRows, cache)).Message);
        Assert.Throws<SaeSharpException>(() => cache.KeepRows([2]));
        Assert.Throws<SaeSharpException>(() => model.CreateKvCache(0));
        using var oneRow = zeros([2, 1], ScalarType.Int64);
        Assert.Throws<SaeSharpException>(() => model.ForwardIncremental(oneRow, cache, new HostHooks().Capture("resid_post.3")));
        using var other = Model();
        Assert.Contains("another model", Assert.Throws<SaeSharpException>(() => other.ForwardIncremental(oneRow, cache)).Message);
    }
}
