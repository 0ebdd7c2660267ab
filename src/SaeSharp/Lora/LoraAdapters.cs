using System.Text.Json;
using SaeSharp.Hosts;
using SaeSharp.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Lora;

/// <summary>
/// LoRA adapters for a <see cref="HostTransformer"/>: one <see cref="LoraLinear"/> beside each targeted projection of
/// each chosen block, applied by <see cref="HostTransformer.Forward(Tensor, HostHooks?, LoraAdapters?)"/> without
/// touching the base weights, saved and loaded in PEFT's layout, and merged into a copy of the model.
/// </summary>
/// <remarks>
/// PEFT layout (peft's <c>save_pretrained</c> for a <c>PeftModelForCausalLM</c>): <c>adapter_config.json</c> and
/// <c>adapter_model.safetensors</c> with tensors named
/// <c>base_model.model.transformer.h.{i}.attn.attention.{q,k,v,out}_proj.lora_{A,B}.weight</c> and
/// <c>base_model.model.transformer.h.{i}.mlp.{c_fc,c_proj}.lora_{A,B}.weight</c> (the adapter name dropped), A
/// <c>[r, in]</c>, B <c>[out, r]</c>, F32.
/// </remarks>
public sealed class LoraAdapters : nn.Module
{
    /// <summary>PEFT's module names for GPT-Neo's projections.</summary>
    public const string Q = "q_proj", K = "k_proj", V = "v_proj", Out = "out_proj", Fc = "c_fc", Proj = "c_proj";

    /// <summary>PEFT's file names.</summary>
    public const string ConfigFileName = "adapter_config.json", WeightsFileName = "adapter_model.safetensors";

    private const string PeftPrefix = "base_model.model.";

    private readonly Dictionary<(int Layer, string Module), LoraLinear> _adapters = [];
    private readonly HostConfig _hostConfig;

    private LoraAdapters(HostConfig hostConfig, LoraConfig config, IReadOnlyList<int> layers, long seed) : base(nameof(LoraAdapters))
    {
        _hostConfig = hostConfig;
        Config = config with { Layers = layers.Order().ToArray() };
        using var generator = new Generator((ulong)seed);
        foreach (var layer in Config.Layers!)
        {
            foreach (var module in LoraConfig.AllModules.Where(config.Modules.Contains))
            {
                var (inFeatures, outFeatures) = Shape(hostConfig, module);
                var adapter = new LoraLinear(inFeatures, outFeatures, config.Rank, config.Alpha / config.Rank, config.Dropout, generator);
                _adapters.Add((layer, module), adapter);
                register_module($"h_{layer}_{module}", adapter);
            }
        }
    }

    /// <summary>The adapters' shape, with <see cref="LoraConfig.Layers"/> resolved and sorted.</summary>
    public LoraConfig Config { get; }

    /// <summary>Every adapter's trainable parameters (A and B of each), in a fixed order.</summary>
    public IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> Parameters() =>
        _adapters.OrderBy(kv => kv.Key.Layer).ThenBy(kv => LoraConfig.AllModules.ToList().IndexOf(kv.Key.Module))
            .SelectMany(kv => new[] { (PeftName(kv.Key.Layer, kv.Key.Module, "A"), (TorchSharp.Modules.Parameter)kv.Value.A), (PeftName(kv.Key.Layer, kv.Key.Module, "B"), (TorchSharp.Modules.Parameter)kv.Value.B) })
            .ToArray();

    /// <summary>
    /// Fresh adapters for <paramref name="host"/> (A seeded, B zero: the adapted model equals the host), on
    /// <paramref name="layers"/> when <see cref="LoraConfig.Layers"/> is null.
    /// </summary>
    /// <exception cref="SaeSharpException">The configuration is invalid, a block does not exist, or the rank exceeds a targeted projection's width.</exception>
    public static LoraAdapters Create(HostTransformer host, LoraConfig config, IReadOnlyList<int>? layers = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(host);
        config.Validate();
        var chosen = config.Layers ?? layers ?? throw new SaeSharpException("no blocks given; set the configuration's layers or pass them", field: "layers");
        if (chosen.Count == 0) throw new SaeSharpException("is empty: there is no block to adapt (is the SAE's hook after the last block?)", field: "layers");
        foreach (var layer in chosen)
            if (layer < 0 || layer >= host.Config.LayerCount)
                throw new SaeSharpException($"holds block {layer}; the model's blocks are 0..{host.Config.LayerCount - 1}", field: "layers");
        foreach (var module in config.Modules)
        {
            var (inFeatures, outFeatures) = Shape(host.Config, module);
            int widest = Math.Min(inFeatures, outFeatures);
            if (config.Rank > widest)
                throw new SaeSharpException($"is {config.Rank}, larger than {module} ([{outFeatures}, {inFeatures}]) allows: at most {widest}", field: "rank");
        }
        return new LoraAdapters(host.Config, config, chosen.Distinct().ToArray(), seed);
    }

    /// <summary>
    /// <paramref name="host"/> seen through these adapters, for anything that takes an <see cref="IHookedHost"/> (spliced
    /// evaluation of the adapted model); the live adapters and base weights, nothing copied.
    /// </summary>
    /// <exception cref="SaeSharpException">The adapters were built for another shape of model.</exception>
    public IHookedHost Attach(HostTransformer host)
    {
        CheckFits(host);
        return new AdaptedHost(host, this);
    }

    private sealed class AdaptedHost(HostTransformer host, LoraAdapters adapters) : IHookedHost
    {
        public int ModelDim => host.ModelDim;
        public int ContextLength => host.ContextLength;
        public int VocabSize => host.VocabSize;
        public IReadOnlyList<string> HookPoints => host.HookPoints;
        public Tensor Forward(Tensor inputIdsBT, HostHooks? hooks) => host.Forward(inputIdsBT, hooks, adapters);
    }

    /// <summary>The adapter beside <paramref name="module"/> of block <paramref name="layer"/>, if any.</summary>
    public bool TryGet(int layer, string module, out LoraLinear adapter) => _adapters.TryGetValue((layer, module), out adapter!);

    /// <summary>
    /// A copy of <paramref name="host"/> with every adapter merged in, W ← W + (α / r)·B·A: it computes what the
    /// adapted host computes, with no adapters (exportable, runnable by anything that runs the host).
    /// </summary>
    /// <exception cref="SaeSharpException">The adapters were built for another shape of model.</exception>
    public HostTransformer Merge(HostTransformer host)
    {
        CheckFits(host);
        var merged = new HostTransformer(host.Config);
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var weights = host.NamedWeights().ToDictionary(w => w.Name, w => w.Tensor, StringComparer.Ordinal);
            foreach (var ((layer, module), adapter) in _adapters)
            {
                var name = WeightName(layer, module);
                weights[name] = weights[name].add(adapter.Delta(), HeldScalars.One);
            }
            merged.LoadWeights(weights, "merged adapters");
            return merged;
        }
        catch
        {
            merged.Dispose();
            throw;
        }
    }

    /// <summary>Writes <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> into <paramref name="folder"/> (created), each atomically.</summary>
    public void SavePeft(string folder)
    {
        Directory.CreateDirectory(folder);
        SafeTensorsFile.Write(Path.Combine(folder, WeightsFileName), Parameters().Select(p => (p.Name, (Tensor)p.Parameter)).ToArray());
        var peft = new PeftAdapterConfig
        {
            R = Config.Rank,
            LoraAlpha = Config.Alpha,
            LoraDropout = Config.Dropout,
            TargetModules = [.. LoraConfig.AllModules.Where(Config.Modules.Contains)],
            LayersToTransform = [.. Config.Layers!],
        };
        AtomicFile.WriteAllText(Path.Combine(folder, ConfigFileName), JsonSerializer.Serialize(peft, PeftJsonContext.Default.PeftAdapterConfig));
    }

    /// <summary>
    /// Loads adapters saved in PEFT's layout for <paramref name="host"/>. Plain LoRA only: no DoRA, rsLoRA, bias or
    /// fan-in-fan-out; every adapter of the configured blocks and modules must be present with its shape.
    /// </summary>
    /// <exception cref="SaeSharpException">A file is missing or invalid, or does not fit the host; the message names file and field.</exception>
    public static LoraAdapters LoadPeft(string folder, HostTransformer host)
    {
        var configPath = Path.Combine(folder, ConfigFileName);
        var peft = StrictJson.Deserialize(StrictJson.ReadUtf8File(configPath), PeftJsonContext.Default.PeftAdapterConfig, configPath);
        if (peft.PeftType != "LORA") throw new SaeSharpException($"is '{peft.PeftType}'; only LORA adapters load", configPath, "peft_type");
        if (peft.UseDora) throw new SaeSharpException("is true; DoRA adapters are not supported", configPath, "use_dora");
        if (peft.UseRslora) throw new SaeSharpException("is true; rank-stabilised scaling is not supported", configPath, "use_rslora");
        if (peft.FanInFanOut) throw new SaeSharpException("is true; GPT-Neo's projections are nn.Linear", configPath, "fan_in_fan_out");
        if (peft.Bias != "none") throw new SaeSharpException($"is '{peft.Bias}'; only 'none' is supported", configPath, "bias");
        if (peft.TargetModules is null) throw new SaeSharpException("is missing", configPath, "target_modules");
        if (peft.LayersToTransform is null) throw new SaeSharpException("is missing; adapters name their blocks", configPath, "layers_to_transform");
        var config = new LoraConfig { Rank = peft.R, Alpha = peft.LoraAlpha, Dropout = peft.LoraDropout, Modules = peft.TargetModules, Layers = peft.LayersToTransform };
        LoraAdapters adapters;
        try
        {
            adapters = Create(host, config);
        }
        catch (SaeSharpException e)
        {
            throw new SaeSharpException(e.Message, configPath, e.Field, e);
        }
        var weightsPath = Path.Combine(folder, WeightsFileName);
        try
        {
            var contents = SafeTensorsFile.Read(weightsPath);
            var expected = adapters.Parameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
            foreach (var name in contents.Tensors.Keys)
                if (!expected.ContainsKey(name))
                    throw new SaeSharpException("is not an adapter of the configuration beside it", weightsPath, name);
            using var noGrad = no_grad();
            foreach (var (name, parameter) in expected)
            {
                if (!contents.Tensors.TryGetValue(name, out var entry))
                    throw new SaeSharpException($"is missing (expected shape [{string.Join(", ", parameter.shape)}])", weightsPath, name);
                using var source = entry.ToTensor();
                if (!source.shape.SequenceEqual(parameter.shape))
                    throw new SaeSharpException($"has shape [{string.Join(", ", source.shape)}]; expected [{string.Join(", ", parameter.shape)}]", weightsPath, name);
                using var asFloat = source.to_type(ScalarType.Float32);
                if (!asFloat.isfinite().all().item<bool>()) throw new SaeSharpException("holds non-finite values", weightsPath, name);
                parameter.copy_(asFloat);
            }
            return adapters;
        }
        catch
        {
            adapters.Dispose();
            throw;
        }
    }

    /// <exception cref="SaeSharpException">The adapters were built for a model of another shape.</exception>
    internal void CheckFits(HostTransformer host)
    {
        var c = host.Config;
        if (c.LayerCount != _hostConfig.LayerCount || c.ModelDim != _hostConfig.ModelDim || c.MlpDim != _hostConfig.MlpDim
            || c.HeadCount * c.HeadDim != _hostConfig.HeadCount * _hostConfig.HeadDim)
            throw new SaeSharpException("were built for a model of another shape (layers, width, MLP width or heads differ)", field: "adapters");
    }

    /// <summary>(in, out) of a targeted projection.</summary>
    private static (int In, int Out) Shape(HostConfig config, string module)
    {
        int d = config.ModelDim, hd = config.HeadCount * config.HeadDim;
        return module switch
        {
            Q or K or V => (d, hd),
            Out => (hd, d),
            Fc => (d, config.MlpDim),
            Proj => (config.MlpDim, d),
            _ => throw new SaeSharpException($"is not a targetable module ({string.Join(", ", LoraConfig.AllModules)})", field: module),
        };
    }

    /// <summary>The base weight's Hugging Face name.</summary>
    private static string WeightName(int layer, string module) => module switch
    {
        Q => HostNames.QWeight(layer),
        K => HostNames.KWeight(layer),
        V => HostNames.VWeight(layer),
        Out => HostNames.OutWeight(layer),
        Fc => HostNames.FcWeight(layer),
        _ => HostNames.ProjWeight(layer),
    };

    /// <summary>PEFT's tensor name: the base weight's module path + <c>.lora_A.weight</c> / <c>.lora_B.weight</c>.</summary>
    private static string PeftName(int layer, string module, string which)
    {
        var weight = WeightName(layer, module);
        return $"{PeftPrefix}{weight[..^".weight".Length]}.lora_{which}.weight";
    }
}
