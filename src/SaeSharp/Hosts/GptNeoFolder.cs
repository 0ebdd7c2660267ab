using System.Globalization;
using System.Text;
using System.Text.Json;
using SaeSharp.IO;

namespace SaeSharp.Hosts;

/// <summary>
/// A GPT-Neo model folder in Hugging Face layout: <c>config.json</c> (<c>GPTNeoConfig</c>'s fields) and
/// <c>model.safetensors</c> (<c>GPTNeoForCausalLM</c>'s parameter names, <see cref="HostNames"/>). The reader takes a
/// folder written by <c>save_pretrained</c> (e.g. roneneldan/TinyStories-33M) and this class's own writer alike.
/// </summary>
/// <remarks>
/// GPT-Neo's fixed choices are checked, not assumed: <c>model_type</c> must be <c>gpt_neo</c>, the activation one
/// this host computes (<c>gelu_new</c> or <c>relu</c>), <c>attention_types</c> must expand to <c>num_layers</c>
/// entries (and agree with <c>attention_layers</c> when present), <c>hidden_size</c> must divide by
/// <c>num_heads</c>. Fields the host does not use (dropouts, <c>summary_*</c>, <c>torch_dtype</c>, ...) are ignored.
/// </remarks>
public static class GptNeoFolder
{
    /// <summary>The configuration's file name.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>The weights' file name.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>GPT-2's <c>&lt;|endoftext|&gt;</c>, GPT-Neo's default BOS and EOS id.</summary>
    public const int EndOfTextId = 50256;

    /// <summary>Reads <c>config.json</c> as a <see cref="HostConfig"/>.</summary>
    /// <exception cref="SaeSharpException">The file is unreadable, not JSON, or a field is missing, mistyped, unsupported or inconsistent; the message names the file and field.</exception>
    public static HostConfig ReadConfig(string path)
    {
        var bytes = StrictJson.ReadUtf8File(path);
        using var document = StrictJson.Parse(bytes, path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException($"is a JSON {root.ValueKind}; expected an object", path);

        var modelType = RequiredString(root, "model_type", path);
        if (modelType != "gpt_neo")
            throw new SaeSharpException($"is \"{modelType}\"; only \"gpt_neo\" is supported", path, "model_type");
        int vocab = RequiredInt(root, "vocab_size", path, 1);
        int positions = RequiredInt(root, "max_position_embeddings", path, 1);
        int hidden = RequiredInt(root, "hidden_size", path, 1);
        int layers = RequiredInt(root, "num_layers", path, 1);
        int heads = RequiredInt(root, "num_heads", path, 1);
        if (hidden % heads != 0)
            throw new SaeSharpException($"is {heads}, which does not divide hidden_size {hidden}", path, "num_heads");
        int window = RequiredInt(root, "window_size", path, 1);
        int? intermediate = OptionalInt(root, "intermediate_size", path);
        var activationName = OptionalString(root, "activation_function", path) ?? "gelu_new";
        var activation = activationName switch
        {
            "gelu_new" => HostActivation.GeluNew,
            "relu" => HostActivation.Relu,
            _ => throw new SaeSharpException($"is \"{activationName}\"; supported: \"gelu_new\", \"relu\"", path, "activation_function"),
        };
        double eps = OptionalDouble(root, "layer_norm_epsilon", path) ?? 1e-5;
        double initStd = OptionalDouble(root, "initializer_range", path) ?? 0.02;
        bool tied = OptionalBool(root, "tie_word_embeddings", path) ?? true;

        var kinds = ExpandAttentionTypes(root, path);
        if (kinds.Count != layers)
            throw new SaeSharpException($"expands to {kinds.Count} layers ({string.Join(", ", kinds)}) but num_layers is {layers}", path, "attention_types");
        if (root.TryGetProperty("attention_layers", out var listed) && listed.ValueKind != JsonValueKind.Null)
        {
            var names = StringArray(listed, path, "attention_layers");
            if (!names.SequenceEqual(kinds, StringComparer.Ordinal))
                throw new SaeSharpException($"is [{string.Join(", ", names)}] but attention_types expands to [{string.Join(", ", kinds)}]", path, "attention_layers");
        }

        var attention = kinds.Select(k => k == "global" ? HostAttention.Global : HostAttention.Local(window)).ToArray();
        var config = new HostConfig(
            VocabSize: vocab, OutputSize: vocab, ContextLength: positions, ModelDim: hidden, HeadCount: heads, HeadDim: hidden / heads,
            MlpDim: intermediate ?? 4 * hidden, Activation: activation, UseLayerNorm: true, LayerNormEps: eps, Attention: attention,
            ScaleAttention: false, QkvBias: false, OutProjBias: true, MlpBias: true, TiedUnembedding: tied, InitStd: initStd);
        try
        {
            return config.Validate();
        }
        catch (SaeSharpException e)
        {
            throw new SaeSharpException(e.Message, path, e.Field, e);
        }
    }

    /// <summary>
    /// Writes <paramref name="config"/> as a Hugging Face <c>config.json</c> (atomically), with every field
    /// <c>GPTNeoConfig</c> writes. <paramref name="bosTokenId"/> and <paramref name="eosTokenId"/> are ids of this
    /// model's vocabulary.
    /// </summary>
    /// <exception cref="SaeSharpException">The configuration is not a GPT-Neo (it scales attention, has q/k/v biases, no LayerNorm, an MLP without biases, no bias on out_proj, a head width other than D/H, or mixes local windows).</exception>
    public static void WriteConfig(HostConfig config, string path, int bosTokenId = EndOfTextId, int eosTokenId = EndOfTextId)
    {
        config.Validate();
        CheckGptNeo(config);
        int window = config.Attention.FirstOrDefault(a => a.IsLocal).Window ?? 256;
        var kinds = config.Attention.Select(a => a.IsLocal ? "local" : "global").ToArray();
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("activation_function", config.Activation == HostActivation.GeluNew ? "gelu_new" : "relu");
            w.WriteStartArray("architectures");
            w.WriteStringValue("GPTNeoForCausalLM");
            w.WriteEndArray();
            w.WriteNumber("attention_dropout", 0);
            w.WriteStartArray("attention_layers");
            foreach (var k in kinds) w.WriteStringValue(k);
            w.WriteEndArray();
            w.WriteStartArray("attention_types");
            foreach (var (pattern, repeat) in CompressAttention(kinds))
            {
                w.WriteStartArray();
                w.WriteStartArray();
                foreach (var k in pattern) w.WriteStringValue(k);
                w.WriteEndArray();
                w.WriteNumberValue(repeat);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteNumber("bos_token_id", bosTokenId);
            w.WriteNumber("embed_dropout", 0);
            w.WriteNumber("eos_token_id", eosTokenId);
            w.WriteNumber("hidden_size", config.ModelDim);
            w.WriteNumber("initializer_range", config.InitStd ?? 0.02);
            if (config.MlpDim == 4 * config.ModelDim) w.WriteNull("intermediate_size");
            else w.WriteNumber("intermediate_size", config.MlpDim);
            w.WriteNumber("layer_norm_epsilon", config.LayerNormEps);
            w.WriteNumber("max_position_embeddings", config.ContextLength);
            w.WriteString("model_type", "gpt_neo");
            w.WriteNumber("num_heads", config.HeadCount);
            w.WriteNumber("num_layers", config.LayerCount);
            w.WriteNumber("resid_dropout", 0);
            w.WriteBoolean("tie_word_embeddings", config.TiedUnembedding);
            w.WriteString("torch_dtype", "float32");
            w.WriteBoolean("use_cache", true);
            w.WriteNumber("vocab_size", config.VocabSize);
            w.WriteNumber("window_size", window);
            w.WriteEndObject();
        }
        AtomicFile.WriteAllText(path, Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
    }

    /// <summary>
    /// Loads a Hugging Face GPT-Neo folder: <c>config.json</c> and <c>model.safetensors</c> (F32, F16 or BF16; tied
    /// <c>lm_head.weight</c> and the old attention-mask buffers allowed).
    /// </summary>
    /// <exception cref="SaeSharpException">A file is missing or invalid, or a weight's shape differs from the configuration's; the message names the file and field.</exception>
    public static HostTransformer Load(string folder)
    {
        var configPath = Path.Combine(folder, ConfigFileName);
        if (!File.Exists(configPath))
            throw new SaeSharpException($"is missing; a Hugging Face GPT-Neo folder holds {ConfigFileName} and {WeightsFileName}", configPath);
        var config = ReadConfig(configPath);
        var weightsPath = Path.Combine(folder, WeightsFileName);
        if (!File.Exists(weightsPath))
            throw new SaeSharpException($"is missing; a Hugging Face GPT-Neo folder holds {ConfigFileName} and {WeightsFileName}", weightsPath);
        return HostTransformer.FromSafeTensors(weightsPath, config);
    }

    /// <summary>
    /// Writes <paramref name="model"/> into <paramref name="folder"/> in Hugging Face layout, weights first and
    /// <c>config.json</c> last, each atomically.
    /// </summary>
    /// <exception cref="SaeSharpException">The model's configuration is not a GPT-Neo (see <see cref="WriteConfig"/>).</exception>
    public static void Save(HostTransformer model, string folder, int bosTokenId = EndOfTextId, int eosTokenId = EndOfTextId)
    {
        CheckGptNeo(model.Config);
        Directory.CreateDirectory(folder);
        model.SaveSafeTensors(Path.Combine(folder, WeightsFileName));
        WriteConfig(model.Config, Path.Combine(folder, ConfigFileName), bosTokenId, eosTokenId);
    }

    private static void CheckGptNeo(HostConfig config)
    {
        string? problem =
            config.ScaleAttention ? "it scales attention scores (GPT-Neo does not)"
            : config.QkvBias ? "its q/k/v projections have biases (GPT-Neo's do not)"
            : !config.OutProjBias ? "its attention output has no bias (GPT-Neo's has)"
            : !config.MlpBias ? "its MLP has no biases (GPT-Neo's has)"
            : !config.UseLayerNorm ? "it has no LayerNorm (GPT-Neo has)"
            : config.HeadDim * config.HeadCount != config.ModelDim ? $"its heads are {config.HeadCount}×{config.HeadDim} wide, not hidden_size {config.ModelDim}"
            : config.Attention.Where(a => a.IsLocal).Select(a => a.Window).Distinct().Count() > 1 ? "its local layers use different windows (GPT-Neo has one window_size)"
            : null;
        if (problem is not null)
            throw new SaeSharpException($"cannot be written as a Hugging Face GPT-Neo config: {problem}", field: "config");
    }

    /// <summary>The shortest run-length form of the layer kinds: the repeating pattern and its count (HF's <c>[[["global","local"],2]]</c>).</summary>
    private static List<(string[] Pattern, int Repeat)> CompressAttention(string[] kinds)
    {
        for (int period = 1; period <= kinds.Length; period++)
        {
            if (kinds.Length % period != 0) continue;
            bool repeats = true;
            for (int i = period; i < kinds.Length && repeats; i++) repeats = kinds[i] == kinds[i % period];
            if (repeats) return [(kinds[..period], kinds.Length / period)];
        }
        return [(kinds, 1)];
    }

    private static List<string> ExpandAttentionTypes(JsonElement root, string path)
    {
        const string Field = "attention_types";
        if (!root.TryGetProperty(Field, out var types))
            throw new SaeSharpException("is missing", path, Field);
        if (types.ValueKind != JsonValueKind.Array)
            throw new SaeSharpException($"is a JSON {types.ValueKind}; expected a list of [[kinds...], repeat] pairs", path, Field);
        var kinds = new List<string>();
        int index = 0;
        foreach (var entry in types.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2 || entry[0].ValueKind != JsonValueKind.Array
                || entry[1].ValueKind != JsonValueKind.Number || !entry[1].TryGetInt32(out int repeat) || repeat < 1 || repeat > 10_000)
                throw new SaeSharpException($"entry {index} is not a [[kinds...], repeat] pair with a repeat in [1, 10000]", path, Field);
            var pattern = StringArray(entry[0], path, Field);
            foreach (var kind in pattern)
                if (kind is not ("global" or "local"))
                    throw new SaeSharpException($"entry {index} names attention kind \"{kind}\"; GPT-Neo's kinds are \"global\" and \"local\"", path, Field);
            for (int r = 0; r < repeat; r++) kinds.AddRange(pattern);
            if (kinds.Count > 100_000) throw new SaeSharpException("expands to more than 100000 layers", path, Field);
            index++;
        }
        return kinds;
    }

    private static string[] StringArray(JsonElement element, string path, string field)
    {
        if (element.ValueKind != JsonValueKind.Array || element.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            throw new SaeSharpException("is not a list of strings", path, field);
        return element.EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    private static string RequiredString(JsonElement root, string field, string path) =>
        OptionalString(root, field, path) ?? throw new SaeSharpException("is missing", path, field);

    private static string? OptionalString(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        return e.ValueKind == JsonValueKind.String ? e.GetString() : throw new SaeSharpException($"is a JSON {e.ValueKind}; expected a string", path, field);
    }

    private static int RequiredInt(JsonElement root, string field, string path, int min) =>
        OptionalInt(root, field, path, min) ?? throw new SaeSharpException("is missing", path, field);

    private static int? OptionalInt(JsonElement root, string field, string path, int min = 1)
    {
        if (!root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int value))
            throw new SaeSharpException($"is {e.GetRawText()}; expected an integer", path, field);
        if (value < min)
            throw new SaeSharpException(string.Create(CultureInfo.InvariantCulture, $"is {value}; must be at least {min}"), path, field);
        return value;
    }

    private static double? OptionalDouble(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double value) || !double.IsFinite(value))
            throw new SaeSharpException($"is {e.GetRawText()}; expected a finite number", path, field);
        return value;
    }

    private static bool? OptionalBool(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new SaeSharpException($"is {e.GetRawText()}; expected true or false", path, field),
        };
    }
}
