using SaeSharp.Hosts;
using SaeSharp.IO;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Hosts;

[Collection("Torch")]
public sealed class HostTransformerTests
{
    private static HostConfig TinyNeo => HostConfig.GptNeo(vocabSize: 40, contextLength: 12, modelDim: 16, headCount: 2, layerCount: 2, window: 3);

    /// <summary>HF GPT-Neo tensors by name and shape, random (LayerNorms too), built without HostTransformer.</summary>
    private static Dictionary<string, Tensor> HfWeights(HostConfig c, long seed)
    {
        using var g = new Generator((ulong)seed);
        var w = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Tensor R(params long[] shape) => randn(shape, generator: g).mul(0.3);
        w["transformer.wte.weight"] = R(c.VocabSize, c.ModelDim);
        w["transformer.wpe.weight"] = R(c.ContextLength, c.ModelDim);
        for (int i = 0; i < c.LayerCount; i++)
        {
            string p = $"transformer.h.{i}.";
            w[p + "ln_1.weight"] = R(c.ModelDim).add(1);
            w[p + "ln_1.bias"] = R(c.ModelDim);
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
                w[p + $"attn.attention.{proj}.weight"] = R(c.ModelDim, c.ModelDim);
            w[p + "attn.attention.out_proj.bias"] = R(c.ModelDim);
            w[p + "ln_2.weight"] = R(c.ModelDim).add(1);
            w[p + "ln_2.bias"] = R(c.ModelDim);
            w[p + "mlp.c_fc.weight"] = R(c.MlpDim, c.ModelDim);
            w[p + "mlp.c_fc.bias"] = R(c.MlpDim);
            w[p + "mlp.c_proj.weight"] = R(c.ModelDim, c.MlpDim);
            w[p + "mlp.c_proj.bias"] = R(c.ModelDim);
        }
        w["transformer.ln_f.weight"] = R(c.ModelDim).add(1);
        w["transformer.ln_f.bias"] = R(c.ModelDim);
        return w;
    }

    private static string TempFile(string extension) => Path.Combine(Path.GetTempPath(), $"saesharp-{Guid.NewGuid():N}{extension}");

    [Fact]
    public void FromSafeTensors_HfGptNeoNames_ComputesTheReferenceForward()
    {
        var weights = HfWeights(TinyNeo, seed: 1);
        var path = TempFile(".safetensors");
        try
        {
            // As HF writes it: no lm_head (tied), plus the old causal-mask buffer that loaders must skip.
            var entries = weights.Select(kv => (kv.Key, kv.Value)).ToList();
            entries.Add(("transformer.h.0.attn.attention.bias", ones(1, 1, 12, 12, dtype: ScalarType.Bool).tril()));
            SafeTensorsFile.Write(path, entries);
            using var model = HostTransformer.FromSafeTensors(path, TinyNeo);
            using var ids = randint(0, TinyNeo.VocabSize, [3, 10], generator: new Generator(2));
            using var expected = GptNeoReference.Logits(weights, ids, layers: 2, heads: 2, window: 3);
            using var actual = model.forward(ids);
            Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max diff {(actual - expected).abs().max().item<float>()}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FromSafeTensors_Float16File_LoadsConverted()
    {
        var weights = HfWeights(TinyNeo, seed: 3);
        var path = TempFile(".safetensors");
        try
        {
            SafeTensorsFile.Write(path, weights.Select(kv => (kv.Key, kv.Value.to_type(ScalarType.Float16))).ToList());
            using var model = HostTransformer.FromSafeTensors(path, TinyNeo);
            var loaded = model.NamedWeights().ToDictionary(w => w.Name, w => w.Tensor);
            Assert.True(loaded["transformer.h.1.mlp.c_fc.weight"].equal(weights["transformer.h.1.mlp.c_fc.weight"].to_type(ScalarType.Float16).to_type(ScalarType.Float32)).all().item<bool>());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FromSafeTensors_WrongShape_NamesTensorAndShapes()
    {
        var weights = HfWeights(TinyNeo, seed: 1);
        weights["transformer.h.1.mlp.c_fc.weight"] = zeros(16, 64);
        var path = TempFile(".safetensors");
        try
        {
            SafeTensorsFile.Write(path, weights.Select(kv => (kv.Key, kv.Value)).ToList());
            var error = Assert.Throws<SaeSharpException>(() => HostTransformer.FromSafeTensors(path, TinyNeo));
            Assert.Contains("transformer.h.1.mlp.c_fc.weight", error.Message);
            Assert.Contains("[64, 16]", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FromSafeTensors_MissingOrUnknownTensor_IsRefused()
    {
        var weights = HfWeights(TinyNeo, seed: 1);
        var path = TempFile(".safetensors");
        try
        {
            SafeTensorsFile.Write(path, weights.Where(kv => kv.Key != "transformer.ln_f.bias").Select(kv => (kv.Key, kv.Value)).ToList());
            Assert.Contains("transformer.ln_f.bias", Assert.Throws<SaeSharpException>(() => HostTransformer.FromSafeTensors(path, TinyNeo)).Message);
            SafeTensorsFile.Write(path, weights.Select(kv => (kv.Key, kv.Value)).Append(("transformer.h.7.extra", zeros(2))).ToList());
            Assert.Contains("transformer.h.7.extra", Assert.Throws<SaeSharpException>(() => HostTransformer.FromSafeTensors(path, TinyNeo)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SaveFolder_LoadFolder_RoundTripsExactly()
    {
        var folder = TempFile("");
        try
        {
            using var model = new HostTransformer(HostConfig.ModularAddition(7), seed: 4);
            model.SaveFolder(folder);
            using var loaded = HostTransformer.LoadFolder(folder);
            Assert.Equal(model.Config, loaded.Config);
            using var ids = TestTensors.ModularAdditionInputs(7);
            Assert.True(model.forward(ids).equal(loaded.forward(ids)).all().item<bool>());
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
        }
    }

    [Fact]
    public void Forward_IsCausal_FutureTokensDoNotChangeEarlierLogits()
    {
        using var model = new HostTransformer(TinyNeo, seed: 5);
        using var a = tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }, [1, 8]);
        using var b = tensor(new long[] { 1, 2, 3, 4, 5, 9, 9, 9 }, [1, 8]);
        using var la = model.forward(a);
        using var lb = model.forward(b);
        Assert.True(la.narrow(1, 0, 5).equal(lb.narrow(1, 0, 5)).all().item<bool>());
        Assert.False(la.narrow(1, 5, 3).allclose(lb.narrow(1, 5, 3)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ForwardLastPosition_AgreesWithFullForward(bool modularAddition)
    {
        // Modular addition with batch > vocab takes the tabulated single-layer path; GPT-Neo the plain one.
        using var model = modularAddition ? new HostTransformer(HostConfig.ModularAddition(11), seed: 6) : new HostTransformer(TinyNeo, seed: 6);
        using var ids = modularAddition ? TestTensors.ModularAdditionInputs(11) : randint(0, 40, [5, 9], generator: new Generator(7));
        using var full = model.forward(ids);
        using var last = model.ForwardLastPosition(ids);
        using var expected = full.select(1, ids.shape[1] - 1);
        Assert.True(last.allclose(expected, rtol: 1e-5, atol: 1e-6), $"max diff {(last - expected).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ForwardLastPositionHidden_TimesUnembedding_IsTheLastPositionLogits(bool modularAddition)
    {
        // The GPT-Neo case has a final LayerNorm (the hidden state is after it) and a tied unembedding (wte).
        using var model = modularAddition ? new HostTransformer(HostConfig.ModularAddition(11), seed: 6) : new HostTransformer(TinyNeo, seed: 6);
        using var ids = modularAddition ? TestTensors.ModularAdditionInputs(11) : randint(0, 40, [5, 9], generator: new Generator(7));
        using var noGrad = no_grad();
        using var hidden = model.ForwardLastPositionHidden(ids);
        using var logits = model.ForwardLastPosition(ids);
        Assert.Equal(new long[] { ids.shape[0], model.Config.ModelDim }, hidden.shape);
        Assert.Same(modularAddition ? model.NamedWeights().Single(w => w.Name == HostNames.LmHead).Tensor : model.TokenEmbedding, model.UnembeddingWeight);
        using var product = hidden.matmul(model.UnembeddingWeight.t());
        Assert.True(product.allclose(logits, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void ForwardLastPosition_TabulatedPath_HasTheSameGradients()
    {
        using var model = new HostTransformer(HostConfig.ModularAddition(11), seed: 8);
        using var ids = TestTensors.ModularAdditionInputs(11);
        using var labels = TestTensors.ModularAdditionLabels(11);
        Tensor[] Gradients(Func<Tensor> logits)
        {
            model.zero_grad();
            nn.functional.cross_entropy(logits(), labels).backward();
            return model.NamedWeights().Select(w => w.Tensor.grad!.clone()).ToArray();
        }
        var plain = Gradients(() => model.forward(ids).select(1, 2));
        var fast = Gradients(() => model.ForwardLastPosition(ids));
        for (int i = 0; i < plain.Length; i++)
            Assert.True(fast[i].allclose(plain[i], rtol: 1e-4, atol: 1e-6), model.NamedWeights()[i].Name);
    }

    [Fact]
    public void Hooks_CaptureAndReplace_ReadAndSpliceTheResidualStream()
    {
        using var model = new HostTransformer(TinyNeo, seed: 9);
        using var ids = randint(0, 40, [2, 6], generator: new Generator(10));
        var hooks = new HostHooks().Capture(HostHooks.ResidPost(0)).Capture(HostHooks.ResidPre(1));
        using var logits = model.Forward(ids, hooks);
        Assert.Equal(new long[] { 2, 6, 16 }, hooks.Captured["resid_post.0"].shape);
        Assert.Same(hooks.Captured["resid_post.0"], hooks.Captured["resid_pre.1"]);

        // Splicing in what was there changes nothing; splicing in something else changes the output.
        var resid = hooks.Captured["resid_post.0"].clone();
        using var same = model.Forward(ids, new HostHooks().Replace(HostHooks.ResidPost(0), _ => resid));
        Assert.True(same.equal(logits).all().item<bool>());
        using var steered = model.Forward(ids, new HostHooks().Replace(HostHooks.ResidPost(0), x => x.add(1.0)));
        Assert.False(steered.allclose(logits));
    }

    [Fact]
    public void Hooks_ResidMid_IsTheMlpInput_AndSplicesLikeTheOthers()
    {
        // The grokking host has no LayerNorm, so resid_post.0 = resid_mid.0 + c_proj(relu(c_fc(resid_mid.0))):
        // recomputing the MLP by hand from the named weights ties the point to its place in the block.
        using var model = new HostTransformer(HostConfig.ModularAddition(7), seed: 13);
        using var ids = TestTensors.ModularAdditionInputs(7);
        var hooks = new HostHooks().Capture(HostHooks.ResidMid(0)).Capture(HostHooks.ResidPost(0));
        using var logits = model.Forward(ids, hooks);
        var weights = model.NamedWeights().ToDictionary(w => w.Name, w => w.Tensor);
        var mid = hooks.Captured["resid_mid.0"];
        using var hidden = nn.functional.linear(mid, weights["transformer.h.0.mlp.c_fc.weight"], weights["transformer.h.0.mlp.c_fc.bias"]).relu();
        using var mlpOut = nn.functional.linear(hidden, weights["transformer.h.0.mlp.c_proj.weight"], weights["transformer.h.0.mlp.c_proj.bias"]);
        Assert.True(mid.add(mlpOut).allclose(hooks.Captured["resid_post.0"], rtol: 1e-5, atol: 1e-6));
        // Before attention it is not: the point sits after attention has written to the stream.
        var pre = new HostHooks().Capture(HostHooks.ResidPre(0));
        using var again = model.Forward(ids, pre);
        Assert.False(pre.Captured["resid_pre.0"].allclose(mid));

        var saved = mid.detach().clone();
        using var same = model.Forward(ids, new HostHooks().Replace(HostHooks.ResidMid(0), _ => saved));
        Assert.True(same.equal(logits).all().item<bool>());
        using var ablated = model.Forward(ids, new HostHooks().Replace(HostHooks.ResidMid(0), x => zeros_like(x)));
        Assert.False(ablated.allclose(logits));
    }

    [Fact]
    public void Hooks_ZeroFinalResidual_WithoutLayerNorm_GivesZeroLogits()
    {
        using var model = new HostTransformer(HostConfig.ModularAddition(7), seed: 11);
        using var ids = TestTensors.ModularAdditionInputs(7);
        using var logits = model.Forward(ids, new HostHooks().Replace(HostHooks.ResidPost(0), x => zeros_like(x)));
        Assert.Equal(0f, logits.abs().max().item<float>());
    }

    [Fact]
    public void Hooks_UnknownPointOrWrongShape_Throw()
    {
        using var model = new HostTransformer(TinyNeo, seed: 12);
        using var ids = zeros(1, 4, dtype: ScalarType.Int64);
        Assert.Contains("resid_post.2", Assert.Throws<SaeSharpException>(() => model.Forward(ids, new HostHooks().Capture("resid_post.2"))).Message);
        Assert.Contains("resid_mid.i", Assert.Throws<SaeSharpException>(() => model.Forward(ids, new HostHooks().Capture("resid_mid.5"))).Message);
        Assert.Throws<SaeSharpException>(() => model.Forward(ids, new HostHooks().Replace("resid_pre.0", x => x.narrow(1, 0, 2))));
    }

    [Fact]
    public void Forward_BadInput_IsRefusedWithAClearError()
    {
        using var model = new HostTransformer(TinyNeo, seed: 12);
        Assert.Contains("vocabulary", Assert.Throws<SaeSharpException>(() => model.forward(tensor(new long[] { 1, 40 }, [1, 2]))).Message);
        Assert.Contains("context length", Assert.Throws<SaeSharpException>(() => model.forward(zeros(1, 13, dtype: ScalarType.Int64))).Message);
        Assert.Contains("Int64", Assert.Throws<SaeSharpException>(() => model.forward(zeros(1, 3))).Message);
    }

    [Fact]
    public void Constructor_SameSeed_SameWeights_DifferentSeed_Different()
    {
        using var a = new HostTransformer(TinyNeo, seed: 13);
        using var b = new HostTransformer(TinyNeo, seed: 13);
        using var c = new HostTransformer(TinyNeo, seed: 14);
        Assert.True(a.NamedWeights().Zip(b.NamedWeights()).All(p => p.First.Tensor.equal(p.Second.Tensor).all().item<bool>()));
        Assert.False(a.NamedWeights()[0].Tensor.equal(c.NamedWeights()[0].Tensor).all().item<bool>());
    }

    [Fact]
    public void HostConfig_Json_RoundTripsAndValidates()
    {
        var config = HostConfig.TinyStories33M;
        Assert.Equal(config, HostConfig.FromJson(config.ToJson(), "test"));
        Assert.Equal([HostAttention.Global, HostAttention.Local(256), HostAttention.Global, HostAttention.Local(256)], config.Attention);
        Assert.Equal(48, config.HeadDim); // 768 / 16
        Assert.Contains("ModelDim", Assert.Throws<SaeSharpException>(() => (config with { ModelDim = 0 }).Validate()).Message);
        Assert.Contains("OutputSize", Assert.Throws<SaeSharpException>(() => (config with { OutputSize = 3 }).Validate()).Message);
        Assert.Throws<SaeSharpException>(() => HostConfig.FromJson("{\"vocab_size\": 3", "file.json"));
    }
}
