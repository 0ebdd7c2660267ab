using SaeSharp.Evaluation;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Hosts;
using SaeSharp.Lora;
using static TorchSharp.torch;

namespace SaeSharp.Harvest.Tests.Onnx;

/// <summary>Adapters merged into the host and exported, the SAE spliced into the graph: ONNX Runtime measures what TorchSharp measured.</summary>
[Collection("Torch")]
public sealed class LoraOnnxExportTests
{
    [Theory]
    [InlineData("resid_post.0")]
    [InlineData("resid_mid.1")]
    public void OnnxExporter_MergedAdaptersWithSaeSpliced_CeEqualsAdaptedSplicedCe(string hook)
    {
        var config = HostConfig.GptNeo(vocabSize: 40, contextLength: 12, modelDim: 16, headCount: 2, layerCount: 2, window: 3);
        using var host = new HostTransformer(config, seed: 1);
        using var sae = Sae.Create(new SaeConfig(16, 32, new TopKArchitecture(4)), seed: 3);
        using var adapters = LoraAdapters.Create(host, new LoraConfig { Rank = 4 }, [1], seed: 2);
        using (var g = new Generator(7))
        using (no_grad())
            foreach (var (name, p) in adapters.Parameters())
                if (name.EndsWith("lora_B.weight", StringComparison.Ordinal)) p.copy_(randn(p.shape, generator: g).mul(0.2));
        var random = new Random(5);
        var sequences = Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, random.Next(3, 13)).Select(_ => (long)random.Next(0, 40)).ToArray()).ToArray();
        var torch = SplicedEvaluator.Evaluate(host, sae, sequences, new SplicedEvaluationOptions { Hook = hook, Ablations = false }, adapters.Attach(host));
        Assert.True(Math.Abs(torch.CeSpliced - torch.CeClean) > 1e-3, "the splice and adapters change the loss");

        var path = Path.Combine(Path.GetTempPath(), $"saesharp-lora-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var merged = adapters.Merge(host))
                OnnxExporter.Export(merged, path, new OnnxExportOptions { Splice = (hook, sae) });
            var onnx = OnnxNextTokenLoss.Evaluate(path, sequences.Select(s => s.Select(id => (int)id).ToArray()).ToArray());
            Assert.Equal(torch.Tokens, onnx.Tokens);
            Assert.True(Math.Abs(onnx.MeanLoss - torch.CeSpliced) < 1e-4, $"ONNX {onnx.MeanLoss} vs TorchSharp {torch.CeSpliced}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void OnnxExporter_SpliceWidthMismatch_ClearError()
    {
        using var host = new HostTransformer(HostConfig.GptNeo(vocabSize: 40, contextLength: 12, modelDim: 16, headCount: 2, layerCount: 2, window: 3), seed: 1);
        using var sae = Sae.Create(new SaeConfig(24, 32, new TopKArchitecture(4)), seed: 3);
        var e = Assert.Throws<SaeSharpException>(() => OnnxExporter.ExportBytes(host, new OnnxExportOptions { Splice = ("resid_post.0", sae) }));
        Assert.Equal("splice", e.Field);
        Assert.Contains("width 24", e.Message, StringComparison.Ordinal);
    }
}
