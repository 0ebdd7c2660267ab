using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Onnx.Proto;
using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Harvest.Tests.Onnx;

/// <summary>The exported graph, run by ONNX Runtime, computes what the TorchSharp model computes.</summary>
[Collection("Torch")]
public sealed class OnnxExporterTests
{
    /// <summary>A GPT-Neo layout small enough to test: global then local attention, window 3 &lt; the sequence lengths used.</summary>
    internal static HostConfig TinyNeo => HostConfig.GptNeo(vocabSize: 50, contextLength: 16, modelDim: 32, headCount: 4, layerCount: 2, window: 3);

    [Fact]
    public void Export_ModularAddition_MatchesTorchOnAllPairs()
    {
        const int p = 23;
        using var model = new HostTransformer(HostConfig.ModularAddition(p), seed: 1);
        using var session = new InferenceSession(OnnxExporter.ExportBytes(model));
        // Every input a b = of modular addition mod p (token p is =), row a·p + b.
        using var inputs = tensor(Enumerable.Range(0, p * p).SelectMany(i => new long[] { i / p, i % p, p }).ToArray(), [p * p, 3]);
        var ortLogits = RunOrt(session, inputs);
        using var torchLogits = model.forward(inputs);
        AssertClose(torchLogits, ortLogits, inputs.shape);
        using var ortTensor = tensor(ortLogits, torchLogits.shape);
        Assert.True(ortTensor.select(1, 2).argmax(1).equal(torchLogits.select(1, 2).argmax(1)).all().item<bool>());
    }

    [Theory]
    [InlineData(3, 16)]
    [InlineData(2, 7)]
    [InlineData(1, 1)]
    public void Export_GptNeoGlobalAndLocal_MatchesTorch(int batch, int sequence)
    {
        using var model = new HostTransformer(TinyNeo, seed: 2);
        RandomizeLayerNorms(model, seed: 3);
        using var session = new InferenceSession(OnnxExporter.ExportBytes(model));
        using var generator = new Generator(4);
        using var ids = randint(0, TinyNeo.VocabSize, [batch, sequence], generator: generator);
        var ortLogits = RunOrt(session, ids);
        using var torchLogits = model.forward(ids);
        AssertClose(torchLogits, ortLogits, ids.shape);
    }

    [Fact]
    public void Export_LocalWindow_ChangesTheResult()
    {
        // Guards the GPT-Neo test above against a window that never bites: global-only attention must differ.
        using var local = new HostTransformer(TinyNeo, seed: 2);
        using var global = new HostTransformer(TinyNeo with { Attention = [HostAttention.Global, HostAttention.Global] }, seed: 2);
        using var ids = arange(0, 12, dtype: ScalarType.Int64).unsqueeze(0);
        using var a = local.forward(ids);
        using var b = global.forward(ids);
        Assert.True(a.select(1, 2).allclose(b.select(1, 2)), "positions within the window agree");
        Assert.False(a.select(1, 11).allclose(b.select(1, 11), rtol: 1e-3, atol: 1e-4), "positions past the window differ");
    }

    [Fact]
    public void Export_Graph_HasOpset17DynamicAxesAndNamedResiduals()
    {
        using var model = new HostTransformer(TinyNeo, seed: 2);
        var proto = ModelProto.Parser.ParseFrom(OnnxExporter.ExportBytes(model));
        Assert.Equal(8, proto.IrVersion);
        Assert.Contains(proto.OpsetImport, o => o.Domain == "" && o.Version == 17);
        var input = Assert.Single(proto.Graph.Input);
        Assert.Equal("input_ids", input.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Int64, input.Type.TensorType.ElemType);
        Assert.Equal(["batch", "sequence"], input.Type.TensorType.Shape.Dim.Select(d => d.DimParam));
        Assert.Equal("logits", Assert.Single(proto.Graph.Output).Name);
        var outputs = proto.Graph.Node.SelectMany(n => n.Output).ToHashSet();
        Assert.Contains("/h.0/resid_pre", outputs);
        Assert.Contains("/h.0/resid_post", outputs);
        Assert.Contains("/h.1/resid_post", outputs);
        Assert.Contains(proto.Graph.Node, n => n.OpType == "LayerNormalization");
    }

    [Fact]
    public void HostOnnxWeights_Load_RebuildsTheSameModel()
    {
        using var model = new HostTransformer(TinyNeo, seed: 5);
        RandomizeLayerNorms(model, seed: 6);
        var path = Path.Combine(Path.GetTempPath(), $"saesharp-export-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Export(model, path);
            using var loaded = HostOnnxWeights.Load(path);
            Assert.Equal(model.Config, loaded.Config);
            foreach (var ((name, expected), (loadedName, actual)) in model.NamedWeights().Zip(loaded.NamedWeights()))
            {
                Assert.Equal(name, loadedName);
                Assert.True(expected.equal(actual).all().item<bool>(), name);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void HostOnnxWeights_Load_MissingInitializer_NamesIt()
    {
        using var model = new HostTransformer(TinyNeo, seed: 5);
        var proto = OnnxExporter.Build(model);
        var victim = proto.Graph.Initializer.First(i => i.Name == "transformer.h.1.mlp.c_fc.weight_T");
        proto.Graph.Initializer.Remove(victim);
        var path = Path.Combine(Path.GetTempPath(), $"saesharp-export-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, proto.ToByteArray());
            var error = Assert.Throws<SaeSharpException>(() => HostOnnxWeights.Load(path));
            Assert.Contains("transformer.h.1.mlp.c_fc.weight_T", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Export_UnknownFieldsSurviveReadEditWrite()
    {
        // Field 99 is not in our schema; a parse-edit-write round trip must keep it byte for byte.
        using var model = new HostTransformer(HostConfig.ModularAddition(5), seed: 1);
        var bytes = OnnxExporter.ExportBytes(model);
        var extra = new byte[] { 0x9A, 0x06, 0x03, (byte)'a', (byte)'b', (byte)'c' }; // field 99, wire type 2, "abc"
        var withUnknown = bytes.Concat(extra).ToArray();
        var parsed = ModelProto.Parser.ParseFrom(withUnknown);
        parsed.DocString = "edited";
        var rewritten = ModelProto.Parser.ParseFrom(parsed.ToByteArray());
        Assert.Equal("edited", rewritten.DocString);
        var reparsedBytes = rewritten.ToByteArray();
        Assert.True(reparsedBytes.AsSpan().IndexOf(extra) >= 0);
    }

    internal static float[] RunOrt(InferenceSession session, Tensor idsBT)
    {
        var ids = idsBT.contiguous().data<long>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(ids, idsBT.shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input_ids"], [input], ["logits"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Each logit within 1e-4 relative to the largest logit magnitude of its row.</summary>
    internal static void AssertClose(Tensor expected, float[] actual, long[] idsShape)
    {
        Assert.Equal(expected.NumberOfElements, actual.Length);
        using var actualT = tensor(actual, expected.shape);
        using var diff = actualT.sub(expected).abs().amax([-1]);
        using var scale = expected.abs().amax([-1]).clamp_min(1e-6);
        double worst = diff.div(scale).max().item<float>();
        Assert.True(worst < 1e-4, $"worst relative difference {worst:E2} for ids shape [{string.Join(", ", idsShape)}]");
    }

    /// <summary>LayerNorms start at (1, 0); random values make the test see whether they are wired right.</summary>
    internal static void RandomizeLayerNorms(HostTransformer model, long seed)
    {
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, weight) in model.NamedWeights())
            if (name.Contains("ln_", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal))
            {
                using var noise = randn(weight.shape, generator: generator);
                weight.add_(noise.mul(0.1));
            }
    }
}
