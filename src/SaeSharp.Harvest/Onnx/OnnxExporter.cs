using SaeSharp.IO;
using Google.Protobuf;
using SaeSharp.Harvest.Onnx.Proto;
using SaeSharp.Hosts;
using static TorchSharp.torch;
using B = SaeSharp.Harvest.Onnx.ExportGraphBuilder;
using DataType = SaeSharp.Harvest.Onnx.Proto.TensorProto.Types.DataType;

namespace SaeSharp.Harvest.Onnx;

/// <summary>
/// Writes a <see cref="HostTransformer"/> as an ONNX model (IR version 8, opset 17) that ONNX Runtime runs:
/// input <c>input_ids</c> int64 <c>[batch, sequence]</c>, output <c>logits</c> float32 <c>[batch, sequence, OutputSize]</c>,
/// both axes dynamic (sequence up to the context length).
/// </summary>
/// <remarks>
/// The residual stream is named <c>/h.{i}/resid_pre</c> (block i's input), <c>/h.{i}/resid_mid</c> (after attention)
/// and <c>/h.{i}/resid_post</c> (block i's output; block i+1 reads it directly). Initializers carry the Hugging Face
/// names of <see cref="HostTransformer.NamedWeights"/>; matrices that feed a MatMul are stored transposed,
/// <c>[in, out]</c>, under the name plus <see cref="TransposedSuffix"/>. The configuration is kept in the
/// metadata entry <see cref="ConfigMetadataKey"/>, so <see cref="HostOnnxWeights"/> can rebuild the model.
/// Masks are computed in the graph from the sequence length (Range, LessOrEqual, Greater), with masked scores set
/// to float.MinValue as Hugging Face's GPT-Neo does.
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The ONNX operator set the graph uses.</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written.</summary>
    public const long IrVersion = 8;

    /// <summary>The graph input: token ids, int64 <c>[batch, sequence]</c>.</summary>
    public const string InputName = "input_ids";

    /// <summary>The graph output: float32 <c>[batch, sequence, OutputSize]</c>.</summary>
    public const string OutputName = "logits";

    /// <summary>Metadata key holding the host configuration as JSON (<see cref="HostConfig.ToJson"/>).</summary>
    public const string ConfigMetadataKey = "saesharp.host_config";

    /// <summary>Suffix of initializers that hold a linear weight transposed to <c>[in, out]</c>.</summary>
    public const string TransposedSuffix = "_T";

    /// <summary>The tensor name of the residual stream entering block <paramref name="layer"/>.</summary>
    public static string ResidPreName(int layer) => $"/h.{layer}/resid_pre";

    /// <summary>The tensor name of the residual stream leaving block <paramref name="layer"/>.</summary>
    public static string ResidPostName(int layer) => $"/h.{layer}/resid_post";

    /// <summary>The optional graph input of <see cref="OnnxExportOptions.AttentionMask"/>: int64 <c>[batch, sequence]</c>, 0 = do not attend.</summary>
    public const string AttentionMaskName = "attention_mask";

    /// <summary>Exports <paramref name="model"/> to <paramref name="path"/>, atomically (temp file, flush, rename).</summary>
    /// <exception cref="SaeSharpException">The options' vocabulary does not match the model's.</exception>
    public static void Export(HostTransformer model, string path, OnnxExportOptions? options = null)
    {
        var proto = Build(model, options);
        AtomicFile.Write(path, stream => proto.WriteTo(stream));
    }

    /// <summary>The exported model as ONNX protobuf bytes.</summary>
    /// <exception cref="SaeSharpException">The options' vocabulary does not match the model's.</exception>
    public static byte[] ExportBytes(HostTransformer model, OnnxExportOptions? options = null) => Build(model, options).ToByteArray();

    internal static ModelProto Build(HostTransformer model, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        var config = model.Config;
        var vocabulary = options.Vocabulary;
        if (vocabulary is not null && (vocabulary.Count != config.VocabSize || vocabulary.Count != config.OutputSize))
            throw new SaeSharpException($"has {vocabulary.Count} ids but the model's vocabulary is {config.VocabSize} in and {config.OutputSize} out", field: "vocabulary");
        var weights = model.NamedWeights().ToDictionary(w => w.Name, w => w.Tensor, StringComparer.Ordinal);
        var g = new B();
        g.Graph.Name = "saesharp_host";
        g.Graph.Input.Add(B.Value(InputName, DataType.Int64, "batch", "sequence"));
        if (options.AttentionMask)
        {
            g.Graph.Input.Add(B.Value(AttentionMaskName, DataType.Int64, "batch", "sequence"));
            g.Int64Matrix(AttentionMaskName, [1], 1, 1);
        }
        g.Graph.Output.Add(B.Value(OutputName, DataType.Float, "batch", "sequence", vocabulary?.OriginalSize ?? config.OutputSize));

        string Weight(string name) => g.Float(name, weights[name]);
        string Linear(string name)
        {
            using var transposed = weights[name].detach().t();
            return g.Float(name + TransposedSuffix, transposed);
        }

        // Constants shared by every layer.
        var one = g.Int64("/const/one", [1]);
        var two = g.Int64("/const/two", [2]);
        var zero = g.Int64("/const/zero", [0]);
        var zeroScalar = g.Int64("/const/zero_scalar", [0], scalar: true);
        var oneScalar = g.Int64("/const/one_scalar", [1], scalar: true);
        var minScore = g.FloatScalar("/const/masked_score", float.MinValue);
        var headShape = g.Int64("/const/head_shape", [0, 0, config.HeadCount, config.HeadDim]);
        var mergedShape = g.Int64("/const/merged_shape", [0, 0, (long)config.HeadCount * config.HeadDim]);

        // Embeddings: token rows plus the first `sequence` position rows.
        var shape = g.Node("Shape", [InputName], "/embed/input_shape");
        var seqLen1 = g.Node("Slice", [shape, one, two], "/embed/sequence_length");
        var seqLen = g.Node("Gather", [shape, oneScalar], "/embed/sequence_length_scalar", B.Int("axis", 0));
        var ids = vocabulary is null ? InputName
            : g.Node("Gather", [g.Int64("/vocab/input_lookup", vocabulary.InputLookup()), InputName], "/vocab/compact_ids", B.Int("axis", 0));
        var tokens = g.Node("Gather", [Weight(HostNames.Wte), ids], "/embed/tokens", B.Int("axis", 0));
        var positions = g.Node("Slice", [Weight(HostNames.Wpe), zero, seqLen1, zero], "/embed/positions");
        var x = g.Node("Add", [tokens, positions], ResidPreName(0));
        string? spliceHook = options.Splice?.Hook;
        if (spliceHook is not null)
        {
            if (!model.HookPoints.Contains(spliceHook))
                throw new SaeSharpException($"is not a hook point of this {config.LayerCount}-layer model (resid_pre.i, resid_mid.i or resid_post.i)", field: "splice");
            if (options.Splice!.Value.Sae.InputDim != config.ModelDim)
                throw new SaeSharpException($"the SAE reads width {options.Splice.Value.Sae.InputDim} but the residual stream has width {config.ModelDim}", field: "splice");
        }
        string Spliced(string point, string value) => point == spliceHook ? SpliceSae(g, value, options.Splice!.Value.Sae) : value;

        // Masks [T, T] (query row, key column), one per distinct attention kind.
        var range = g.Node("Range", [zeroScalar, seqLen, oneScalar], "/mask/positions");
        var rows = g.Node("Unsqueeze", [range, g.Int64("/mask/row_axes", [1])], "/mask/rows");
        var cols = g.Node("Unsqueeze", [range, zero], "/mask/cols");
        var causal = g.Node("LessOrEqual", [cols, rows], "/mask/global");
        var masks = new Dictionary<HostAttention, string> { [HostAttention.Global] = causal };
        foreach (var kind in config.Attention.Distinct().Where(a => a.IsLocal))
        {
            int w = kind.Window!.Value;
            var lowest = g.Node("Sub", [rows, g.Int64($"/mask/window_{w}", [w])], $"/mask/local_{w}_lowest");
            var inWindow = g.Node("Greater", [cols, lowest], $"/mask/local_{w}_in_window");
            masks[kind] = g.Node("And", [causal, inWindow], $"/mask/local_{w}");
        }
        if (options.AttentionMask)
        {
            // [B, T] keys → [B, 1, 1, T], broadcast against every head and query row of each [T, T] mask.
            var keys = g.Node("Cast", [AttentionMaskName], "/mask/attention_mask_bool", B.Int("to", (long)DataType.Bool));
            var keysB11T = g.Node("Unsqueeze", [keys, g.Int64("/mask/key_axes", [1, 2])], "/mask/attention_mask_keys");
            foreach (var kind in masks.Keys.ToArray())
                masks[kind] = g.Node("And", [masks[kind], keysB11T], $"{masks[kind]}_with_attention_mask");
        }

        string? scale = config.ScaleAttention ? g.FloatScalar("/const/attention_scale", (float)(1.0 / Math.Sqrt(config.HeadDim))) : null;
        for (int i = 0; i < config.LayerCount; i++)
        {
            string p = $"/h.{i}";
            x = Spliced(HostHooks.ResidPre(i), x);
            var attnIn = config.UseLayerNorm ? LayerNorm(g, x, Weight(HostNames.Ln1Weight(i)), Weight(HostNames.Ln1Bias(i)), config.LayerNormEps, $"{p}/ln_1") : x;
            string Project(string name, string? bias, string input, string output)
            {
                var y = g.Node("MatMul", [input, Linear(name)], output + (bias is null ? "" : "_matmul"));
                return bias is null ? y : g.Node("Add", [y, Weight(bias)], output);
            }
            var q = Project(HostNames.QWeight(i), config.QkvBias ? HostNames.QBias(i) : null, attnIn, $"{p}/attn/q");
            var k = Project(HostNames.KWeight(i), config.QkvBias ? HostNames.KBias(i) : null, attnIn, $"{p}/attn/k");
            var v = Project(HostNames.VWeight(i), config.QkvBias ? HostNames.VBias(i) : null, attnIn, $"{p}/attn/v");
            var qHeads = g.Node("Transpose", [g.Node("Reshape", [q, headShape], $"{p}/attn/q_split")], $"{p}/attn/q_heads", B.Ints("perm", 0, 2, 1, 3));
            var kHeads = g.Node("Transpose", [g.Node("Reshape", [k, headShape], $"{p}/attn/k_split")], $"{p}/attn/k_heads_t", B.Ints("perm", 0, 2, 3, 1));
            var vHeads = g.Node("Transpose", [g.Node("Reshape", [v, headShape], $"{p}/attn/v_split")], $"{p}/attn/v_heads", B.Ints("perm", 0, 2, 1, 3));
            var scores = g.Node("MatMul", [qHeads, kHeads], $"{p}/attn/scores");
            if (scale is not null) scores = g.Node("Mul", [scores, scale], $"{p}/attn/scores_scaled");
            var masked = g.Node("Where", [masks[config.Attention[i]], scores, minScore], $"{p}/attn/scores_masked");
            var probs = g.Node("Softmax", [masked], $"{p}/attn/pattern", B.Int("axis", -1));
            var z = g.Node("MatMul", [probs, vHeads], $"{p}/attn/z");
            var zMerged = g.Node("Reshape", [g.Node("Transpose", [z], $"{p}/attn/z_t", B.Ints("perm", 0, 2, 1, 3)), mergedShape], $"{p}/attn/z_merged");
            var attnOut = Project(HostNames.OutWeight(i), config.OutProjBias ? HostNames.OutBias(i) : null, zMerged, $"{p}/attn/out");
            var mid = Spliced(HostHooks.ResidMid(i), g.Node("Add", [x, attnOut], $"{p}/resid_mid"));

            var mlpIn = config.UseLayerNorm ? LayerNorm(g, mid, Weight(HostNames.Ln2Weight(i)), Weight(HostNames.Ln2Bias(i)), config.LayerNormEps, $"{p}/ln_2") : mid;
            var hidden = Project(HostNames.FcWeight(i), config.MlpBias ? HostNames.FcBias(i) : null, mlpIn, $"{p}/mlp/pre");
            var acts = config.Activation == HostActivation.Relu
                ? g.Node("Relu", [hidden], $"{p}/mlp/post")
                : GeluNew(g, hidden, $"{p}/mlp");
            var mlpOut = Project(HostNames.ProjWeight(i), config.MlpBias ? HostNames.ProjBias(i) : null, acts, $"{p}/mlp/out");
            x = Spliced(HostHooks.ResidPost(i), g.Node("Add", [mid, mlpOut], ResidPostName(i)));
        }

        var final = config.UseLayerNorm ? LayerNorm(g, x, Weight(HostNames.LnFWeight), Weight(HostNames.LnFBias), config.LayerNormEps, "/ln_f") : x;
        var unembed = config.TiedUnembedding
            ? g.Node("Transpose", [HostNames.Wte], "/unembed/wte_t", B.Ints("perm", 1, 0))
            : Linear(HostNames.LmHead);
        if (vocabulary is null)
        {
            g.Node("MatMul", [final, unembed], OutputName);
        }
        else
        {
            // One extra column, 0·x + UnusedLogit, then a Gather by tokenizer id: used ids read their own column (their
            // logit + 0, exact), every other id reads the extra one.
            int d = config.ModelDim, v = vocabulary.Count;
            var zeroColumn = g.FloatMatrix("/vocab/zero_column", new float[d], d, 1);
            var extended = g.Node("Concat", [unembed, zeroColumn], "/vocab/unembed_extended", B.Int("axis", 1));
            var bias = new float[v + 1];
            bias[v] = OnnxExportOptions.UnusedLogit;
            var compact = g.Node("Add", [g.Node("MatMul", [final, extended], "/vocab/compact_logits_extended"), g.FloatMatrix("/vocab/unused_bias", bias, v + 1)],
                "/vocab/compact_logits");
            var outputIndex = new long[vocabulary.OriginalSize];
            Array.Fill(outputIndex, v);
            for (int i = 0; i < v; i++) outputIndex[vocabulary.Ids[i]] = i;
            g.Node("Gather", [compact, g.Int64("/vocab/output_index", outputIndex)], OutputName, B.Int("axis", 2));
        }

        var modelProto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "SaeSharp",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = g.Graph,
        };
        modelProto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        modelProto.MetadataProps.Add(new StringStringEntryProto { Key = ConfigMetadataKey, Value = config.ToJson() });
        return modelProto;
    }

    /// <summary>
    /// The SAE's inference reconstruction of <paramref name="x"/> <c>[B, T, D]</c>: z = σ((x − b_dec)·W_encᵀ + b_enc),
    /// x̂ = z·W_dec + b_dec, σ = TopK (ReLU of the K largest, scattered into zeros) or ReLU.
    /// </summary>
    private static string SpliceSae(B g, string x, Sae sae)
    {
        var weights = sae.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        var bDec = g.Float("/sae/b_dec", weights["b_dec"]);
        var input = sae.Config.ApplyDecoderBiasToInput ? g.Node("Sub", [x, bDec], "/sae/centred") : x;
        using var encoderDL = weights["W_enc_LD"].detach().t();
        var pre = g.Node("Add", [g.Node("MatMul", [input, g.Float("/sae/W_enc_T", encoderDL)], "/sae/pre_matmul"), g.Float("/sae/b_enc", weights["b_enc"])], "/sae/pre");
        string latents;
        switch (sae)
        {
            case TopKSae topK:
                g.Node("TopK", [pre, g.Int64("/sae/k", [topK.K])], ["/sae/topk_values", "/sae/topk_indices"], B.Int("axis", -1));
                var values = g.Node("Relu", ["/sae/topk_values"], "/sae/topk_relu");
                var zeros = g.Node("ConstantOfShape", [g.Node("Shape", [pre], "/sae/pre_shape")], "/sae/zeros");
                latents = g.Node("ScatterElements", [zeros, "/sae/topk_indices", values], "/sae/latents", B.Int("axis", -1));
                break;
            case ReluSae:
                latents = g.Node("Relu", [pre], "/sae/latents");
                break;
            default:
                throw new SaeSharpException($"is a {sae.GetType().Name}; the graph splices TopK and ReLU SAEs only", field: "splice");
        }
        return g.Node("Add", [g.Node("MatMul", [latents, g.Float("/sae/W_dec", weights["W_dec"])], "/sae/recon_matmul"), bDec], "/sae/recon");
    }

    private static string LayerNorm(B g, string x, string weight, string bias, double eps, string name) =>
        g.Node("LayerNormalization", [x, weight, bias], name, B.Int("axis", -1), B.FloatAttribute("epsilon", (float)eps));

    /// <summary>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the formula HostTransformer evaluates.</summary>
    private static string GeluNew(B g, string x, string prefix)
    {
        var cube = g.Node("Pow", [x, g.FloatScalar($"{prefix}/three", 3f)], $"{prefix}/cube");
        var inner = g.Node("Add", [x, g.Node("Mul", [cube, g.FloatScalar($"{prefix}/c0044715", 0.044715f)], $"{prefix}/cube_scaled")], $"{prefix}/inner");
        var tanh = g.Node("Tanh", [g.Node("Mul", [inner, g.FloatScalar($"{prefix}/sqrt_2_over_pi", (float)Math.Sqrt(2.0 / Math.PI))], $"{prefix}/tanh_in")], $"{prefix}/tanh");
        var half = g.Node("Mul", [x, g.FloatScalar($"{prefix}/half", 0.5f)], $"{prefix}/half_x");
        return g.Node("Mul", [half, g.Node("Add", [tanh, g.FloatScalar($"{prefix}/one", 1f)], $"{prefix}/one_plus_tanh")], $"{prefix}/post");
    }
}
