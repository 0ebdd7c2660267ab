using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SaeSharp.Internals;
using static TorchSharp.torch;

namespace SaeSharp.IO;

/// <summary>
/// SAELens-compatible SAE folders: <c>cfg.json</c> plus <c>sae_weights.safetensors</c> holding
/// <c>W_enc [d_in, d_sae]</c>, <c>W_dec [d_sae, d_in]</c>, <c>b_enc [d_sae]</c>, <c>b_dec [d_in]</c> and, for
/// JumpReLU (and BatchTopK, saved as JumpReLU), <c>threshold [d_sae]</c>, all float32.
/// </summary>
/// <remarks>
/// An activation scale s used in training (inputs multiplied by s) is folded into the saved weights so
/// that they act on raw activations: b_enc, b_dec and threshold are divided by s (the latents come out
/// divided by s too, which keeps decoder rows unit-norm), and cfg says <c>normalize_activations: "none"</c>.
/// </remarks>
public static class SaeCheckpoint
{
    /// <summary>The config file name SAELens reads.</summary>
    public const string ConfigFileName = "cfg.json";

    /// <summary>The weights file name SAELens reads.</summary>
    public const string WeightsFileName = "sae_weights.safetensors";

    /// <summary>The SAELens version our cfg.json follows (its loader checks it is a 6.x string).</summary>
    internal const string SaeLensVersion = "6.12.1";

    internal static readonly string SaeSharpVersion =
        typeof(SaeCheckpoint).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Writes <paramref name="sae"/> to <paramref name="directory"/> in SAELens' layout, each file atomically.</summary>
    /// <param name="sae">The SAE, with weights acting on scaled inputs.</param>
    /// <param name="directory">The folder; created if missing.</param>
    /// <param name="activationScale">The factor inputs were multiplied by in training (1 if none); folded into the weights.</param>
    /// <param name="metadata">Extra SAELens metadata (model_name, hook_name, context_size, ...); strings or numbers.</param>
    public static void Save(Sae sae, string directory, double activationScale = 1.0, IReadOnlyDictionary<string, object?>? metadata = null)
    {
        if (!(activationScale > 0) || double.IsInfinity(activationScale))
            throw new SaeSharpException($"activation scale {activationScale} must be positive and finite", field: "activation_scale");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var inverse = 1.0 / activationScale;
        var tensors = new List<(string, Tensor)>
        {
            ("W_enc", sae.EncoderWeightLD.detach().t().contiguous().to(ScalarType.Float32)),
            ("W_dec", sae.DecoderWeightLD.detach().to(ScalarType.Float32)),
            ("b_enc", sae.EncoderBiasL.detach().mul(inverse).to(ScalarType.Float32)),
            ("b_dec", sae.DecoderBiasD.detach().mul(inverse).to(ScalarType.Float32)),
        };
        var threshold = sae switch
        {
            JumpReluSae jump => jump.ThresholdL.detach(),
            BatchTopKSae batch => batch.ThresholdL.detach(),
            _ => null,
        };
        if (threshold is not null)
            tensors.Add(("threshold", threshold.mul(inverse).to(ScalarType.Float32)));

        Directory.CreateDirectory(directory);
        SafeTensorsFile.Write(Path.Combine(directory, WeightsFileName), tensors,
            new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), BuildConfig(sae.Config, activationScale, metadata).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// Loads an SAELens folder (ours or one written elsewhere): architectures <c>standard</c>, <c>topk</c>,
    /// <c>jumprelu</c>; a <c>jumprelu</c> folder we wrote from BatchTopK loads back as BatchTopK.
    /// </summary>
    /// <exception cref="SaeSharpException">A file is missing or wrong: the message names the file and the key or tensor.</exception>
    public static Sae Load(string directory)
    {
        var configPath = Path.Combine(directory, ConfigFileName);
        var weightsPath = Path.Combine(directory, WeightsFileName);
        if (!Directory.Exists(directory))
            throw new SaeSharpException("SAE folder does not exist", directory);
        if (!File.Exists(configPath))
            throw new SaeSharpException("missing; an SAELens folder has cfg.json and sae_weights.safetensors", configPath);
        if (!File.Exists(weightsPath))
            throw new SaeSharpException("missing; an SAELens folder has cfg.json and sae_weights.safetensors", weightsPath);

        var config = ReadConfig(configPath);
        var contents = SafeTensorsFile.Read(weightsPath);
        long d = config.InputDim, l = config.LatentCount;
        var expected = new List<(string Name, long[] Shape)>
        {
            ("W_enc", [d, l]), ("W_dec", [l, d]), ("b_enc", [l]), ("b_dec", [d]),
        };
        if (config.Architecture is JumpReluArchitecture or BatchTopKArchitecture)
            expected.Add(("threshold", [l]));
        foreach (var name in contents.Tensors.Keys)
        {
            if (!expected.Any(e => e.Name == name))
                throw new SaeSharpException($"unexpected tensor for architecture {ArchitectureName(config.Architecture)} (expected {string.Join(", ", expected.Select(e => e.Name))})", weightsPath, name);
        }

        var sae = Sae.Create(config, seed: 0);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor Get(string name, long[] shape)
        {
            var tensor = contents.Get(name, weightsPath);
            if (tensor.DType != SafeTensorDType.F32)
                throw new SaeSharpException($"dtype {tensor.DType} where F32 is required", weightsPath, name);
            if (!tensor.Shape.SequenceEqual(shape))
                throw new SaeSharpException($"shape [{string.Join(", ", tensor.Shape)}] does not match cfg.json (d_in {d}, d_sae {l}): expected [{string.Join(", ", shape)}]", weightsPath, name);
            return tensor.ToTensor();
        }
        sae.EncoderWeightLD.copy_(Get("W_enc", [d, l]).t());
        sae.DecoderWeightLD.copy_(Get("W_dec", [l, d]));
        sae.EncoderBiasL.copy_(Get("b_enc", [l]));
        sae.DecoderBiasD.copy_(Get("b_dec", [d]));
        switch (sae)
        {
            case JumpReluSae jump:
                var threshold = Get("threshold", [l]);
                if (threshold.le(0).any().item<bool>())
                    throw new SaeSharpException("JumpReLU thresholds must be positive", weightsPath, "threshold");
                jump.LogThresholdL.copy_(threshold.log());
                break;
            case BatchTopKSae batch:
                batch.ThresholdL.copy_(Get("threshold", [l]));
                break;
        }
        sae.eval();
        return sae;
    }

    private static JsonObject BuildConfig(SaeConfig config, double activationScale, IReadOnlyDictionary<string, object?>? metadata)
    {
        var cfg = new JsonObject
        {
            ["architecture"] = config.Architecture switch
            {
                TopKArchitecture => "topk",
                BatchTopKArchitecture or JumpReluArchitecture => "jumprelu",
                _ => "standard",
            },
            ["d_in"] = config.InputDim,
            ["d_sae"] = config.LatentCount,
            ["dtype"] = "float32",
            ["device"] = "cpu",
            ["apply_b_dec_to_input"] = config.ApplyDecoderBiasToInput,
            ["normalize_activations"] = "none",
            ["reshape_activations"] = "none",
        };
        if (config.Architecture is TopKArchitecture topK)
        {
            cfg["k"] = topK.K;
            cfg["rescale_acts_by_decoder_norm"] = false;
        }
        var meta = new JsonObject
        {
            ["sae_lens_version"] = SaeLensVersion,
            ["sae_lens_training_version"] = SaeLensVersion,
        };
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
                meta[key] = value switch
                {
                    null => null,
                    string text => JsonValue.Create(text),
                    bool flag => JsonValue.Create(flag),
                    int or long => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
                    float or double => JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
                    _ => throw new SaeSharpException($"metadata value of type {value.GetType().Name} is not a string, number or bool", field: "metadata." + key),
                };
        }
        meta["saesharp_version"] = SaeSharpVersion;
        meta["saesharp_architecture"] = JsonSerializer.SerializeToNode(config.Architecture, SaeSharpJsonContext.Default.SaeArchitecture);
        meta["saesharp_activation_scale"] = activationScale;
        cfg["metadata"] = meta;
        return cfg;
    }

    private static SaeConfig ReadConfig(string path)
    {
        JsonObject cfg;
        try
        {
            cfg = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new SaeSharpException("is not a JSON object", path);
        }
        catch (JsonException e)
        {
            throw new SaeSharpException($"is not valid JSON: {e.Message}", path, inner: e);
        }
        int dIn = RequiredInt(cfg, "d_in", path);
        int dSae = RequiredInt(cfg, "d_sae", path);
        string architecture = RequiredString(cfg, "architecture", path);
        if (cfg["normalize_activations"] is JsonValue norm && norm.TryGetValue<string>(out var normalize) && normalize != "none")
            throw new SaeSharpException($"normalize_activations \"{normalize}\" is not supported; fold the scaling into the weights and set \"none\"", path, "normalize_activations");
        if (cfg["dtype"] is JsonValue dtypeValue && dtypeValue.TryGetValue<string>(out var dtype) && dtype is not ("float32" or "torch.float32"))
            throw new SaeSharpException($"dtype \"{dtype}\" is not supported; SaeSharp reads float32 weights", path, "dtype");
        bool applyBDec = cfg["apply_b_dec_to_input"] is JsonValue apply && apply.TryGetValue<bool>(out var b) ? b : true;

        // Ours records the exact architecture (BatchTopK is saved as jumprelu for SAELens).
        SaeArchitecture? ours = null;
        if (cfg["metadata"]?["saesharp_architecture"] is JsonObject recorded)
        {
            try { ours = recorded.Deserialize(SaeSharpJsonContext.Default.SaeArchitecture); }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
                throw new SaeSharpException($"is not a valid architecture: {e.Message}", path, "metadata.saesharp_architecture", e);
            }
        }
        SaeArchitecture arch = architecture switch
        {
            "topk" => new TopKArchitecture(ReadK(cfg, path)),
            "jumprelu" when ours is BatchTopKArchitecture batch => batch,
            "jumprelu" => ours as JumpReluArchitecture ?? new JumpReluArchitecture(),
            "standard" => new ReluArchitecture(),
            _ => throw new SaeSharpException($"architecture \"{architecture}\" is not supported (supported: standard, topk, jumprelu)", path, "architecture"),
        };
        try
        {
            return new SaeConfig(dIn, dSae, arch) { ApplyDecoderBiasToInput = applyBDec }.Validate();
        }
        catch (SaeSharpException e)
        {
            throw new SaeSharpException(e.Message, path, e.Field, e);
        }
    }

    private static int ReadK(JsonObject cfg, string path)
    {
        // SAELens 6 writes k at the top level; SAELens 5 wrote activation_fn_kwargs.k.
        if (cfg["k"] is not null) return RequiredInt(cfg, "k", path);
        if (cfg["activation_fn_kwargs"] is JsonObject kwargs && kwargs["k"] is not null) return RequiredInt(kwargs, "k", path, "activation_fn_kwargs.k");
        throw new SaeSharpException("missing key (a topk SAE needs k)", path, "k");
    }

    private static int RequiredInt(JsonObject cfg, string key, string path, string? field = null)
    {
        var node = cfg[key] ?? throw new SaeSharpException("missing key", path, field ?? key);
        if (node is JsonValue value && value.TryGetValue<double>(out var number) && number == Math.Floor(number) && number is >= int.MinValue and <= int.MaxValue)
            return (int)number;
        throw new SaeSharpException($"value {node.ToJsonString()} is not an integer", path, field ?? key);
    }

    private static string RequiredString(JsonObject cfg, string key, string path)
    {
        var node = cfg[key] ?? throw new SaeSharpException("missing key", path, key);
        if (node is JsonValue value && value.TryGetValue<string>(out var text)) return text;
        throw new SaeSharpException($"value {node.ToJsonString()} is not a string", path, key);
    }

    /// <summary>The architecture's name as SAELens writes it in cfg.json (<c>standard</c>, <c>topk</c>, <c>batchtopk</c>, <c>jumprelu</c>).</summary>
    public static string ArchitectureName(SaeArchitecture architecture) =>
        architecture switch
        {
            TopKArchitecture => "topk",
            BatchTopKArchitecture => "batchtopk",
            JumpReluArchitecture => "jumprelu",
            _ => "relu",
        };

    internal static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
