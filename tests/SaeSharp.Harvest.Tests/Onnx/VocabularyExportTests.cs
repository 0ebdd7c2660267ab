using Microsoft.ML.OnnxRuntime;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Harvest.Tests.Onnx;

/// <summary>An export with a compact vocabulary takes tokenizer ids and returns logits indexed by tokenizer id.</summary>
[Collection("Torch")]
public sealed class VocabularyExportTests
{
    // Tokenizer ids 0..199; the model knows 12 of them, 199 playing <|endoftext|>.
    private static readonly CompactVocabulary Vocabulary = CompactVocabulary.Create([3, 17, 18, 40, 41, 77, 100, 101, 150, 160, 198, 199], 200, 199);

    private static HostTransformer NewModel(long seed)
    {
        var model = new HostTransformer(HostConfig.GptNeo(vocabSize: Vocabulary.Count, contextLength: 16, modelDim: 32, headCount: 4, layerCount: 2, window: 3), seed);
        OnnxExporterTests.RandomizeLayerNorms(model, seed + 1);
        return model;
    }

    private static float[] Run(InferenceSession session, long[] ids, long[] shape, long[]? mask = null)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var runOptions = new RunOptions();
        if (mask is null)
        {
            using var outputs = session.Run(runOptions, ["input_ids"], [input], ["logits"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var masked = session.Run(runOptions, ["input_ids", "attention_mask"], [input, maskValue], ["logits"]);
        return masked[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void Export_WithVocabulary_LogitsAtTokenizerIdsEqualCompactLogits_OthersVeryNegative()
    {
        using var model = NewModel(seed: 1);
        using var session = new InferenceSession(OnnxExporter.ExportBytes(model, new OnnxExportOptions { Vocabulary = Vocabulary }));
        long[] tokenizerIds = [3, 40, 199, 160, 17, 101, 77, 3, 150];
        var ort = Run(session, tokenizerIds, [1, tokenizerIds.Length]);
        Assert.Equal(tokenizerIds.Length * 200, ort.Length);

        using var compactIds = tensor(Vocabulary.ToCompact(tokenizerIds.Select(i => (int)i).ToArray()), [1, tokenizerIds.Length]);
        using var torchLogits = model.forward(compactIds);
        var expected = torchLogits.contiguous().data<float>().ToArray();
        for (int t = 0; t < tokenizerIds.Length; t++)
            for (int id = 0; id < 200; id++)
            {
                float actual = ort[t * 200 + id];
                if (Vocabulary.Contains(id))
                    Assert.Equal(expected[t * Vocabulary.Count + Vocabulary.ToCompact([id])[0]], actual, 4);
                else
                    Assert.Equal(OnnxExportOptions.UnusedLogit, actual);
            }
    }

    [Fact]
    public void Export_WithVocabulary_UnknownInputIdReadsTheEndOfTextRow()
    {
        using var model = NewModel(seed: 2);
        using var session = new InferenceSession(OnnxExporter.ExportBytes(model, new OnnxExportOptions { Vocabulary = Vocabulary }));
        var unknown = Run(session, [3, 5, 40], [1, 3]);      // 5 is not in the vocabulary
        var endOfText = Run(session, [3, 199, 40], [1, 3]);
        Assert.Equal(endOfText, unknown);
    }

    [Fact]
    public void Export_AttentionMask_OptionalAndMasksKeys()
    {
        using var model = NewModel(seed: 3);
        using var session = new InferenceSession(OnnxExporter.ExportBytes(model, new OnnxExportOptions { Vocabulary = Vocabulary, AttentionMask = true }));
        long[] ids = [3, 40, 41, 160, 17, 3, 100, 101];
        var plain = Run(session, ids, [2, 4]);
        var allOnes = Run(session, ids, [2, 4], [1, 1, 1, 1, 1, 1, 1, 1]);
        Assert.Equal(plain, allOnes);
        // Right padding: masking the second row's last key changes no position before it.
        var padded = Run(session, ids, [2, 4], [1, 1, 1, 1, 1, 1, 1, 0]);
        Assert.Equal(plain.AsSpan(0, 7 * 200).ToArray(), padded.AsSpan(0, 7 * 200).ToArray());
        // Masking the first key changes every later position of that row, as Hugging Face's mask does.
        var firstMasked = Run(session, ids, [2, 4], [0, 1, 1, 1, 1, 1, 1, 1]);
        Assert.NotEqual(plain.AsSpan(3 * 200, 200).ToArray(), firstMasked.AsSpan(3 * 200, 200).ToArray());
    }

    [Fact]
    public void HookFinder_VocabularyExport_FindsTheResidualStream()
    {
        using var model = NewModel(seed: 4);
        var path = Path.Combine(Path.GetTempPath(), $"saesharp-vocab-export-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Export(model, path, new OnnxExportOptions { Vocabulary = Vocabulary, AttentionMask = true });
            var hooks = HookFinder.Find(OnnxGraph.Load(path));
            Assert.Equal(["resid_pre.0", "resid_mid.0", "resid_post.0", "resid_pre.1", "resid_mid.1", "resid_post.1"], hooks.Select(h => h.Name));
            Assert.Equal(OnnxExporter.ResidPreName(0), hooks[0].TensorName);
            Assert.Equal(OnnxExporter.ResidPostName(1), hooks[^1].TensorName);
            using var host = OnnxHost.Open(path, hooks);
            Assert.Equal(200, host.VocabSize);
            Assert.All(host.HookWidths, w => Assert.Equal(32, w));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void OnnxNextTokenLoss_EqualsTheTorchModelsLoss()
    {
        using var model = NewModel(seed: 5);
        var path = Path.Combine(Path.GetTempPath(), $"saesharp-vocab-loss-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Export(model, path, new OnnxExportOptions { Vocabulary = Vocabulary, AttentionMask = true });
            var random = new Random(6);
            var sequences = Enumerable.Range(0, 7).Select(_ => Enumerable.Range(0, random.Next(2, 17)).Select(_ => Vocabulary.Ids[random.Next(Vocabulary.Count)]).ToArray()).ToArray();
            var torch = LanguageModelTrainer.Evaluate(model, sequences.Select(s => Vocabulary.ToCompact(s)).ToArray(), batchSize: 3);
            var onnx = OnnxNextTokenLoss.Evaluate(path, sequences, batchSize: 2);
            Assert.Equal(torch.Tokens, onnx.Tokens);
            Assert.Equal(torch.MeanLoss, onnx.MeanLoss, 4);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Export_VocabularyOfAnotherSize_Refused()
    {
        using var model = NewModel(seed: 1);
        var other = CompactVocabulary.Create([1, 2, 3], 200, 3);
        Assert.Equal("vocabulary", Assert.Throws<SaeSharpException>(() => OnnxExporter.ExportBytes(model, new OnnxExportOptions { Vocabulary = other })).Field);
    }
}
