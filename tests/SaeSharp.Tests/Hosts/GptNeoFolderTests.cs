using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Hosts;

[Collection("Torch")]
public sealed class GptNeoFolderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"saesharp-neo-{Guid.NewGuid():N}");

    public GptNeoFolderTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>
    /// roneneldan/TinyStories-33M's config.json field for field (as save_pretrained wrote it, transformers 4.28), with
    /// the sizes scaled down: vocab 50257 → 97, hidden 768 → 32, heads 16 → 4, context 2048 → 24, window 256 → 5.
    /// </summary>
    private const string TinyStoriesShapedConfig = """
        {
          "_name_or_path": "EleutherAI/gpt-neo-125M",
          "activation_function": "gelu_new",
          "architectures": [
            "GPTNeoForCausalLM"
          ],
          "attention_dropout": 0,
          "attention_layers": [
            "global",
            "local",
            "global",
            "local"
          ],
          "attention_types": [
            [
              [
                "global",
                "local"
              ],
              2
            ]
          ],
          "bos_token_id": 50256,
          "embed_dropout": 0,
          "eos_token_id": 50256,
          "gradient_checkpointing": false,
          "hidden_size": 32,
          "initializer_range": 0.02,
          "intermediate_size": null,
          "layer_norm_epsilon": 1e-05,
          "max_position_embeddings": 24,
          "model_type": "gpt_neo",
          "num_heads": 4,
          "num_layers": 4,
          "resid_dropout": 0,
          "summary_activation": null,
          "summary_first_dropout": 0.1,
          "summary_proj_to_labels": true,
          "summary_type": "cls_index",
          "summary_use_proj": true,
          "torch_dtype": "float32",
          "transformers_version": "4.28.0",
          "use_cache": true,
          "vocab_size": 97,
          "window_size": 5
        }
        """;

    private string ConfigPath => Path.Combine(_folder, GptNeoFolder.ConfigFileName);

    [Fact]
    public void ReadConfig_TinyStoriesShape_IsTheGptNeoPreset()
    {
        File.WriteAllText(ConfigPath, TinyStoriesShapedConfig);
        var config = GptNeoFolder.ReadConfig(ConfigPath);
        Assert.Equal(HostConfig.GptNeo(vocabSize: 97, contextLength: 24, modelDim: 32, headCount: 4, layerCount: 4, window: 5), config);
        Assert.Equal(["global", "local(5)", "global", "local(5)"], config.Attention.Select(a => a.ToString()));
        Assert.Equal(128, config.MlpDim);
    }

    [Fact]
    public void Load_TinyStoriesShapedFolderWithHfExtras_GivesTheSameLogits()
    {
        // A save_pretrained folder: F32 weights, lm_head.weight equal to wte (tied), and the old mask buffers.
        File.WriteAllText(ConfigPath, TinyStoriesShapedConfig);
        var config = GptNeoFolder.ReadConfig(ConfigPath);
        using var source = new HostTransformer(config, seed: 3);
        var tensors = source.NamedWeights().ToList();
        tensors.Add((HostNames.LmHead, source.TokenEmbedding));
        using var maskBuffer = ones([1, 1, 24, 24], dtype: ScalarType.Float32).tril();
        tensors.Add(("transformer.h.0.attn.attention.bias", maskBuffer));
        SaeSharp.IO.SafeTensorsFile.Write(Path.Combine(_folder, GptNeoFolder.WeightsFileName), tensors);

        using var loaded = GptNeoFolder.Load(_folder);
        using var ids = tensor(new long[] { 1, 5, 9, 96, 0, 3, 7 }, [1, 7]);
        using var expected = source.forward(ids);
        using var actual = loaded.forward(ids);
        Assert.True(expected.equal(actual).all().item<bool>());
    }

    [Fact]
    public void Save_ThenLoad_RoundTripsConfigAndWeightsBitExact()
    {
        var config = HostConfig.GptNeo(vocabSize: 30, contextLength: 10, modelDim: 16, headCount: 2, layerCount: 3, window: 4, mlpDim: 40);
        using var model = new HostTransformer(config, seed: 1);
        GptNeoFolder.Save(model, _folder, bosTokenId: 29, eosTokenId: 29);
        using var loaded = GptNeoFolder.Load(_folder);
        Assert.Equal(config, loaded.Config);
        foreach (var ((name, a), (_, b)) in model.NamedWeights().Zip(loaded.NamedWeights()))
            Assert.True(a.equal(b).all().item<bool>(), name);
        var text = File.ReadAllText(ConfigPath);
        Assert.Contains("\"intermediate_size\": 40", text);
        Assert.Contains("\"bos_token_id\": 29", text);
        // global, local, global: no shorter period, so one pattern repeated once.
        Assert.Contains("\"attention_layers\"", text);
        Assert.Equal(config, GptNeoFolder.ReadConfig(ConfigPath));
    }

    [Theory]
    [InlineData("\"activation_function\": \"gelu_new\"", "\"activation_function\": \"swish\"", "activation_function")]
    [InlineData("\"num_layers\": 4", "\"num_layers\": 6", "attention_types")]
    [InlineData("\"attention_layers\": [\n    \"global\",\n    \"local\",", "\"attention_layers\": [\n    \"local\",\n    \"local\",", "attention_layers")]
    [InlineData("\"model_type\": \"gpt_neo\"", "\"model_type\": \"gpt2\"", "model_type")]
    [InlineData("\"hidden_size\": 32", "\"hidden_size\": 30", "num_heads")]
    [InlineData("\"window_size\": 5", "\"window_size\": \"5\"", "window_size")]
    [InlineData("\"vocab_size\": 97,", "", "vocab_size")]
    public void ReadConfig_BadField_OneErrorNamingFileAndField(string find, string replace, string field)
    {
        var text = TinyStoriesShapedConfig.Replace("\r\n", "\n");
        Assert.Contains(find, text);
        File.WriteAllText(ConfigPath, text.Replace(find, replace));
        var error = Assert.Throws<SaeSharpException>(() => GptNeoFolder.ReadConfig(ConfigPath));
        Assert.Equal(ConfigPath, error.FilePath);
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Load_WeightsShapedForAnotherConfig_NamesTheTensor()
    {
        using (var model = new HostTransformer(HostConfig.GptNeo(97, 24, 32, 4, 4, 5), seed: 1))
            GptNeoFolder.Save(model, _folder);
        File.WriteAllText(ConfigPath, TinyStoriesShapedConfig.Replace("\"vocab_size\": 97", "\"vocab_size\": 98"));
        var error = Assert.Throws<SaeSharpException>(() => GptNeoFolder.Load(_folder));
        Assert.Equal(HostNames.Wte, error.Field);
        Assert.Contains("[97, 32]", error.Message);
    }

    [Fact]
    public void Load_MissingWeightsOrTruncatedFile_OneClearError()
    {
        File.WriteAllText(ConfigPath, TinyStoriesShapedConfig);
        var missing = Assert.Throws<SaeSharpException>(() => GptNeoFolder.Load(_folder));
        Assert.Contains(GptNeoFolder.WeightsFileName, missing.Message);
        File.WriteAllBytes(Path.Combine(_folder, GptNeoFolder.WeightsFileName), [1, 2, 3]);
        var truncated = Assert.Throws<SaeSharpException>(() => GptNeoFolder.Load(_folder));
        Assert.Contains(GptNeoFolder.WeightsFileName, truncated.Message);
    }

    [Fact]
    public void Save_NotAGptNeo_RefusedBeforeWritingAnything()
    {
        using var model = new HostTransformer(HostConfig.ModularAddition(7), seed: 1);
        Assert.Throws<SaeSharpException>(() => GptNeoFolder.Save(model, _folder));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder));
    }
}
