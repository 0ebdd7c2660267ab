using System.Text.Json;
using SaeSharp.Crosscoders.Internals;
using SaeSharp.IO;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders;

/// <summary>
/// Crosscoder folders: <c>cfg.json</c> (<c>format</c> = <c>saesharp-crosscoder/1</c>, the
/// <see cref="CrosscoderConfig"/> under <c>crosscoder</c>, <c>source_scales</c>, <c>step</c>) and
/// <c>crosscoder_weights.safetensors</c> holding float32 <c>W_enc [S, D, L]</c>, <c>W_dec [L, S, D]</c>,
/// <c>b_enc [L]</c>, <c>b_dec [S, D]</c> and <c>threshold [L]</c> (the layout of Kissane et al.'s open
/// crosscoder, so the weights load in its Python code by name). See docs/crosscoder-format.md.
/// </summary>
/// <remarks>
/// The per-source scales are not folded into the weights: folding would change how a latent's decoder norm
/// splits over sources, which is what model diffing reads. Multiply source s by <c>source_scales[s]</c> first.
/// </remarks>
public static class CrosscoderCheckpoint
{
    /// <summary>The config file's name.</summary>
    public const string ConfigFileName = "cfg.json";

    /// <summary>The weights file's name.</summary>
    public const string WeightsFileName = "crosscoder_weights.safetensors";

    /// <summary>The format tag in <c>cfg.json</c>.</summary>
    public const string Format = "saesharp-crosscoder/1";

    /// <summary>Writes a crosscoder to <paramref name="directory"/> (created if missing), each file atomically, the config last.</summary>
    /// <exception cref="SaeSharpException">A scale is not positive and finite, or there is not one per source.</exception>
    public static void Save(Crosscoder crosscoder, string directory, IReadOnlyList<double> sourceScales, long step = 0)
    {
        if (sourceScales.Count != crosscoder.SourceCount || sourceScales.Any(s => !(s > 0) || !double.IsFinite(s)))
            throw new SaeSharpException($"need {crosscoder.SourceCount} positive finite scales, got [{string.Join(", ", sourceScales)}]", directory, "source_scales");
        Directory.CreateDirectory(directory);
        using (NewDisposeScope())
        {
            var tensors = new List<(string, Tensor)>
            {
                ("W_enc", crosscoder.EncoderWeightSDL.detach().to_type(ScalarType.Float32).contiguous()),
                ("W_dec", crosscoder.DecoderWeightLSD.detach().to_type(ScalarType.Float32).contiguous()),
                ("b_enc", crosscoder.EncoderBiasL.detach().to_type(ScalarType.Float32).contiguous()),
                ("b_dec", crosscoder.DecoderBiasSD.detach().to_type(ScalarType.Float32).contiguous()),
                ("threshold", crosscoder.ThresholdL.detach().to_type(ScalarType.Float32).contiguous()),
            };
            SafeTensorsFile.Write(Path.Combine(directory, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = Format });
        }
        var info = new CrosscoderCheckpointInfo(Format, crosscoder.Config, sourceScales.ToArray(), step);
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), JsonSerializer.Serialize(info, CrosscoderJsonContext.Default.CrosscoderCheckpointInfo));
    }

    /// <summary>Reads a crosscoder folder, checking every shape against the config.</summary>
    /// <exception cref="SaeSharpException">A file is missing, malformed, or disagrees with the config; the message names file and field.</exception>
    public static LoadedCrosscoder Load(string directory)
    {
        var configPath = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(configPath))
            throw new SaeSharpException("missing: not a crosscoder folder", configPath);
        CrosscoderCheckpointInfo info;
        using (var document = StrictJson.Parse(StrictJson.ReadUtf8File(configPath), configPath))
        {
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("crosscoder", out var crosscoderElement))
                CrosscoderJson.CheckSparsity(crosscoderElement, configPath, "crosscoder");
            info = StrictJson.Deserialize(document, CrosscoderJsonContext.Default.CrosscoderCheckpointInfo, configPath);
        }
        if (info.Format != Format)
            throw new SaeSharpException($"format is '{info.Format}', expected '{Format}'", configPath, "format");
        if (info.Crosscoder is null)
            throw new SaeSharpException("lacks the crosscoder config", configPath, "crosscoder");
        CrosscoderConfig config;
        try
        {
            config = info.Crosscoder.Validate();
        }
        catch (SaeSharpException e)
        {
            throw new SaeSharpException(e.Message, configPath, "crosscoder." + e.Field, e);
        }
        if (info.SourceScales is null || info.SourceScales.Count != config.SourceCount || info.SourceScales.Any(s => !(s > 0) || !double.IsFinite(s)))
            throw new SaeSharpException($"must hold {config.SourceCount} positive finite numbers", configPath, "source_scales");
        if (info.Step < 0)
            throw new SaeSharpException($"{info.Step} is negative", configPath, "step");

        var weightsPath = Path.Combine(directory, WeightsFileName);
        var contents = SafeTensorsFile.Read(weightsPath);
        long s = config.SourceCount, d = config.InputDim, l = config.LatentCount;
        // Every tensor is checked against the config before the crosscoder is allocated, so a config that claims
        // sizes its weights do not have is refused rather than allocated.
        (string Name, long[] Shape)[] expected = [("W_enc", [s, d, l]), ("W_dec", [l, s, d]), ("b_enc", [l]), ("b_dec", [s, d]), ("threshold", [l])];
        foreach (var (name, shape) in expected)
            Check(contents, weightsPath, name, shape);
        var crosscoder = Crosscoder.CreateEmpty(config);
        try
        {
            using var noGrad = no_grad();
            Copy(contents, "W_enc", crosscoder.EncoderWeightSDL);
            Copy(contents, "W_dec", crosscoder.DecoderWeightLSD);
            Copy(contents, "b_enc", crosscoder.EncoderBiasL);
            Copy(contents, "b_dec", crosscoder.DecoderBiasSD);
            Copy(contents, "threshold", crosscoder.ThresholdL);
        }
        catch
        {
            crosscoder.Dispose();
            throw;
        }
        crosscoder.eval();
        return new LoadedCrosscoder(crosscoder, info.SourceScales.ToArray(), info.Step);
    }

    private static void Check(SafeTensorsContents contents, string path, string name, long[] shape)
    {
        var stored = contents.Get(name, path);
        if (stored.DType != SafeTensorDType.F32)
            throw new SaeSharpException($"dtype is {stored.DType}, expected F32", path, name);
        if (!stored.Shape.SequenceEqual(shape))
            throw new SaeSharpException($"shape is [{string.Join(", ", stored.Shape)}], expected [{string.Join(", ", shape)}]", path, name);
        stored.ThrowIfNonFinite(path);
    }

    private static void Copy(SafeTensorsContents contents, string name, Tensor target)
    {
        using var value = contents.Tensors[name].ToTensor();
        target.copy_(value);
    }
}
