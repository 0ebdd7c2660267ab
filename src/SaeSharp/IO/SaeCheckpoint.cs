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
public static partial class SaeCheckpoint
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
    /// <param name="metadata">
    /// Extra SAELens metadata (model_name, hook_name, context_size, prepend_bos, ...); strings, numbers or booleans.
    /// <c>context_size</c>, <c>hook_head_index</c> and <c>prepend_bos</c> given as strings are written as the number or
    /// boolean SAELens expects; a <c>hook_name</c> of ours such as <c>resid_post.3</c> is written in TransformerLens'
    /// form (<c>blocks.3.hook_resid_post</c>) and kept as given under <see cref="SaeSharpHookNameKey"/>.
    /// </param>
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
    /// <c>jumprelu</c>; a <c>jumprelu</c> folder we wrote from BatchTopK loads back as BatchTopK. SAELens 5's
    /// <c>standard</c> + <c>activation_fn: "topk"</c> loads as TopK; a TopK <c>rescale_acts_by_decoder_norm: true</c>
    /// is folded into the weights (same latents as SAELens, unit-norm decoder rows).
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

        var (config, rescaleByDecoderNorm) = ReadConfig(configPath);
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

        // Every tensor is checked against cfg.json before the SAE is allocated: a cfg.json that claims sizes its
        // weights do not have (d_sae 2e9 beside a small file) is refused, not allocated.
        foreach (var (name, shape) in expected)
        {
            var tensor = contents.Get(name, weightsPath);
            if (tensor.DType != SafeTensorDType.F32)
                throw new SaeSharpException($"dtype {tensor.DType} where F32 is required", weightsPath, name);
            if (!tensor.Shape.SequenceEqual(shape))
                throw new SaeSharpException($"shape [{string.Join(", ", tensor.Shape)}] does not match cfg.json (d_in {d}, d_sae {l}): expected [{string.Join(", ", shape)}]", weightsPath, name);
            tensor.ThrowIfNonFinite(weightsPath);
        }

        var sae = Sae.Create(config, seed: 0);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor Get(string name, long[] shape) => contents.Get(name, weightsPath).ToTensor();
        var encoderLD = Get("W_enc", [d, l]).t();
        var decoderLD = Get("W_dec", [l, d]);
        var encoderBiasL = Get("b_enc", [l]);
        if (rescaleByDecoderNorm)
        {
            // SAELens' TopK encode multiplies the pre-activations by ||W_dec[l]|| before the top-k and decode divides
            // by it again (saes/topk_sae.py:247-248, 262-263). Folding the norms in, as SAELens itself does when it
            // saves an inference model (_fold_norm_topk, topk_sae.py:532-541), gives the same latents with unit rows.
            var normsL = decoderLD.norm(1);
            if (!normsL.gt(0).all().item<bool>() || !normsL.isfinite().all().item<bool>())
                throw new SaeSharpException("has a decoder row of zero or non-finite norm, which rescale_acts_by_decoder_norm cannot divide by", weightsPath, "W_dec");
            encoderLD = encoderLD.mul(normsL.unsqueeze(1));
            encoderBiasL = encoderBiasL.mul(normsL);
            decoderLD = decoderLD.div(normsL.unsqueeze(1));
        }
        sae.EncoderWeightLD.copy_(encoderLD);
        sae.DecoderWeightLD.copy_(decoderLD);
        sae.EncoderBiasL.copy_(encoderBiasL);
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
                meta[key] = TypedMetadataValue(key, value);
            if (meta["hook_name"] is JsonValue hook && hook.TryGetValue<string>(out var ours) && TransformerLensHookName(ours) is string lens)
            {
                meta["hook_name"] = lens;
                meta[SaeSharpHookNameKey] = ours;
            }
        }
        meta["saesharp_version"] = SaeSharpVersion;
        meta["saesharp_architecture"] = JsonSerializer.SerializeToNode(config.Architecture, SaeSharpJsonContext.Default.SaeArchitecture);
        meta["saesharp_activation_scale"] = activationScale;
        cfg["metadata"] = meta;
        return cfg;
    }

    private static (SaeConfig Config, bool RescaleByDecoderNorm) ReadConfig(string path)
    {
        JsonObject cfg;
        try
        {
            // Bytes, not text: invalid UTF-8 is an error, not a U+FFFD (JsonNode does not check string contents).
            var bytes = StrictJson.ReadUtf8File(path);
            cfg = JsonNode.Parse(bytes, documentOptions: StrictJson.DocumentOptions) as JsonObject
                ?? throw new SaeSharpException("is not a JSON object", path);
        }
        catch (JsonException e)
        {
            throw new SaeSharpException($"is not valid JSON: {e.Message}", path, inner: e);
        }
        int dIn = RequiredInt(cfg, "d_in", path);
        int dSae = RequiredInt(cfg, "d_sae", path);
        string architecture = RequiredString(cfg, "architecture", path);
        var normalize = OptionalString(cfg, "normalize_activations", path);
        if (normalize is not (null or "none"))
            throw new SaeSharpException($"normalize_activations \"{normalize}\" is not supported; fold the scaling into the weights and set \"none\"", path, "normalize_activations");
        var dtype = OptionalString(cfg, "dtype", path);
        if (dtype is not (null or "float32" or "torch.float32"))
            throw new SaeSharpException($"dtype \"{dtype}\" is not supported; SaeSharp reads float32 weights", path, "dtype");
        bool applyBDec = OptionalBool(cfg, "apply_b_dec_to_input", path) ?? true;
        // SAELens (jbloomAus/SAELens 6.18.0, sources cited in tests/fixtures/saelens/README.md) keeps this flag only on
        // TopKSAEConfig (saes/topk_sae.py:150, default false; training config topk_sae.py:331, default true); other
        // architectures drop it (filter_valid_dataclass_fields, saes/sae.py:177), and so do we.
        bool rescale = OptionalBool(cfg, "rescale_acts_by_decoder_norm", path) ?? false;
        var metadata = cfg["metadata"];
        if (metadata is not null and not JsonObject)
            throw new SaeSharpException($"value {metadata.ToJsonString()} is not an object", path, "metadata");
        if (metadata is JsonObject meta)
            CheckMetadata(meta, path);

        // Ours records the exact architecture (BatchTopK is saved as jumprelu for SAELens).
        SaeArchitecture? ours = null;
        if (metadata?["saesharp_architecture"] is { } recordedNode)
        {
            if (recordedNode is not JsonObject recorded)
                throw new SaeSharpException($"value {recordedNode.ToJsonString()} is not an object", path, "metadata.saesharp_architecture");
            try { ours = recorded.Deserialize(SaeSharpJsonContext.Default.SaeArchitecture); }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
                throw new SaeSharpException($"is not a valid architecture: {e.Message}", path, "metadata.saesharp_architecture", e);
            }
        }
        architecture = ApplyLegacyActivationFn(cfg, architecture, path);
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
            return (new SaeConfig(dIn, dSae, arch) { ApplyDecoderBiasToInput = applyBDec }.Validate(), rescale && arch is TopKArchitecture);
        }
        catch (SaeSharpException e)
        {
            throw new SaeSharpException(e.Message, path, e.Field, e);
        }
    }

    private static int ReadK(JsonObject cfg, string path)
    {
        // SAELens 6 writes k at the top level (TopKSAEConfig.k, saes/topk_sae.py:149); SAELens 5 wrote
        // activation_fn_kwargs.k, which SAELens' pre-6 loader copies over k (loading/pretrained_sae_loaders.py:263).
        int? top = cfg["k"] is not null ? RequiredInt(cfg, "k", path) : null;
        var kwargs = ActivationFnKwargs(cfg, path);
        int? legacy = kwargs?["k"] is not null ? RequiredInt(kwargs, "k", path, "activation_fn_kwargs.k") : null;
        if (top is int a && legacy is int b && a != b)
            throw new SaeSharpException($"k {a} disagrees with activation_fn_kwargs.k {b}; keep one", path, "k");
        return top ?? legacy ?? throw new SaeSharpException("missing key (a topk SAE needs k)", path, "k");
    }

    /// <summary>
    /// SAELens 5 and earlier saved TopK SAEs as <c>standard</c> with <c>activation_fn</c> (or
    /// <c>activation_fn_str</c>) <c>"topk"</c> and <c>activation_fn_kwargs.k</c>; SAELens' pre-6 loader renames
    /// the key and turns such a config into <c>topk</c> (loading/pretrained_sae_loaders.py:216-241). It silently
    /// drops any other activation function (a <c>tanh-relu</c> SAE would load as ReLU); we refuse those.
    /// </summary>
    private static string ApplyLegacyActivationFn(JsonObject cfg, string architecture, string path)
    {
        var fn = OptionalString(cfg, "activation_fn", path);
        var fnStr = OptionalString(cfg, "activation_fn_str", path);
        if (fn is not null && fnStr is not null && fn != fnStr)
            throw new SaeSharpException($"activation_fn \"{fn}\" disagrees with activation_fn_str \"{fnStr}\"; keep one", path, "activation_fn");
        var field = fn is not null ? "activation_fn" : "activation_fn_str";
        switch (fn ?? fnStr)
        {
            case null or "relu":
                return architecture;
            case "topk" when architecture is "standard" or "topk":
                if (ActivationFnKwargs(cfg, path)?["k"] is null && cfg["k"] is null)
                    throw new SaeSharpException("is \"topk\" but activation_fn_kwargs.k is missing", path, field);
                return "topk";
            case "topk":
                throw new SaeSharpException($"is \"topk\" but architecture is \"{architecture}\"; a TopK SAE has architecture \"topk\" (or \"standard\" before SAELens 6)", path, field);
            case var other:
                throw new SaeSharpException($"\"{other}\" is not supported (supported: relu, topk)", path, field);
        }
    }

    private static JsonObject? ActivationFnKwargs(JsonObject cfg, string path) =>
        cfg["activation_fn_kwargs"] switch
        {
            null => null,
            JsonObject kwargs => kwargs,
            var node => throw new SaeSharpException($"value {node.ToJsonString()} is not an object", path, "activation_fn_kwargs"),
        };

    /// <summary>
    /// The metadata SAELens reads back has these types (SAEMetadata built in saes/sae.py:789-797 from
    /// LanguageModelSAERunnerConfig: context_size int, prepend_bos bool, hook_name str); we wrote numbers and
    /// booleans as strings before, so a string that parses is accepted too.
    /// </summary>
    private static void CheckMetadata(JsonObject meta, string path)
    {
        foreach (var (key, node) in meta)
        {
            if (node is null) continue;
            var ok = key switch
            {
                "model_name" or "hook_name" or SaeSharpHookNameKey or "sae_lens_version" or "sae_lens_training_version" or "saesharp_version" =>
                    node is JsonValue v && v.GetValueKind() == JsonValueKind.String,
                "context_size" or "hook_head_index" => node is JsonValue v && IsInteger(v),
                "prepend_bos" => node is JsonValue v && (v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                    || (v.TryGetValue<string>(out var text) && bool.TryParse(text, out _))),
                "saesharp_activation_scale" => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number,
                _ => true,
            };
            if (!ok)
                throw new SaeSharpException($"value {node.ToJsonString()} has the wrong type", path, "metadata." + key);
        }

        static bool IsInteger(JsonValue v) =>
            (v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && d == Math.Floor(d))
            || (v.TryGetValue<string>(out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
    }

    private static JsonValue? TypedMetadataValue(string key, object? value)
    {
        // TrainerOptions.Metadata holds strings; SAELens' ActivationsStore.from_sae (training/activations_store.py:170-185)
        // passes these straight on as int / bool, so they are written typed.
        if (value is string text)
        {
            switch (key)
            {
                case "context_size" or "hook_head_index":
                    if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
                        throw new SaeSharpException($"value \"{text}\" is not an integer", field: "metadata." + key);
                    return JsonValue.Create(number);
                case "prepend_bos":
                    if (!bool.TryParse(text, out var flag))
                        throw new SaeSharpException($"value \"{text}\" is not true or false", field: "metadata." + key);
                    return JsonValue.Create(flag);
            }
        }
        return value switch
        {
            null => null,
            string s => JsonValue.Create(s),
            bool flag => JsonValue.Create(flag),
            int or long => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
            float or double => JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            _ => throw new SaeSharpException($"metadata value of type {value.GetType().Name} is not a string, number or bool", field: "metadata." + key),
        };
    }

    /// <summary>
    /// TransformerLens' name for one of our residual-stream hooks (<c>resid_post.3</c> → <c>blocks.3.hook_resid_post</c>,
    /// the form SAELens' loaders write, e.g. loading/pretrained_sae_loaders.py:1010); null for other names.
    /// </summary>
    internal static string? TransformerLensHookName(string hook)
    {
        var match = ResidualHook().Match(hook);
        return match.Success ? $"blocks.{match.Groups[2].Value}.hook_resid_{match.Groups[1].Value}" : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^resid_(pre|mid|post)\.(\d+)$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ResidualHook();

    /// <summary>The metadata key that keeps our own hook name when <c>hook_name</c> holds TransformerLens' form.</summary>
    public const string SaeSharpHookNameKey = "saesharp_hook_name";

    private static string? OptionalString(JsonObject cfg, string key, string path)
    {
        var node = cfg[key];
        if (node is null) return null;
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String) return value.GetValue<string>();
        throw new SaeSharpException($"value {node.ToJsonString()} is not a string", path, key);
    }

    private static bool? OptionalBool(JsonObject cfg, string key, string path)
    {
        var node = cfg[key];
        if (node is null) return null;
        if (node is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return value.GetValue<bool>();
        throw new SaeSharpException($"value {node.ToJsonString()} is not true or false", path, key);
    }

    private static int RequiredInt(JsonObject cfg, string key, string path, string? field = null)
    {
        var node = cfg[key] ?? throw new SaeSharpException("missing key", path, field ?? key);
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<double>(out var number) && number == Math.Floor(number) && number is >= int.MinValue and <= int.MaxValue)
            return (int)number;
        throw new SaeSharpException($"value {node.ToJsonString()} is not an integer", path, field ?? key);
    }

    private static string RequiredString(JsonObject cfg, string key, string path)
    {
        var node = cfg[key] ?? throw new SaeSharpException("missing key", path, key);
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String) return value.GetValue<string>();
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
