using System.Text.Json;
using SaeSharp.Internals;

namespace SaeSharp.Hosts;

/// <summary>
/// The shape and options of a <see cref="HostTransformer"/>: a GPT-style decoder with learned positions,
/// pre-LayerNorm blocks (or none), per-layer global or local causal attention, and an MLP.
/// Presets: <see cref="ModularAddition"/> (the grokking model) and <see cref="GptNeo"/> / <see cref="TinyStories33M"/>.
/// </summary>
/// <param name="VocabSize">V: input token count (rows of <c>wte</c>).</param>
/// <param name="OutputSize">Width of the logits; equals <see cref="VocabSize"/> when the unembedding is tied.</param>
/// <param name="ContextLength">Rows of the learned position table: the longest sequence the model takes.</param>
/// <param name="ModelDim">D: residual-stream width.</param>
/// <param name="HeadCount">H: attention heads per layer.</param>
/// <param name="HeadDim">Width of each head; H·HeadDim need not equal D.</param>
/// <param name="MlpDim">Hidden width of each MLP.</param>
/// <param name="Activation">MLP non-linearity.</param>
/// <param name="UseLayerNorm">Pre-LayerNorm before attention, MLP and unembedding (GPT-Neo) or none at all (grokking model).</param>
/// <param name="LayerNormEps">LayerNorm epsilon (GPT-Neo: 1e-5).</param>
/// <param name="Attention">One entry per layer: global or local(window). Its length is the layer count.</param>
/// <param name="ScaleAttention">Whether scores are divided by √HeadDim (GPT-Neo: no).</param>
/// <param name="QkvBias">Whether the q/k/v projections have biases (GPT-Neo: no).</param>
/// <param name="OutProjBias">Whether the attention output projection has a bias (GPT-Neo: yes).</param>
/// <param name="MlpBias">Whether the MLP projections have biases.</param>
/// <param name="TiedUnembedding">Whether the logits use <c>wte</c>ᵀ instead of a separate <c>lm_head</c>.</param>
/// <param name="InitStd">Standard deviation of the normal initialisation of every matrix; null for the grokking scheme (1/√D, unembedding 1/√OutputSize).</param>
public sealed record HostConfig(
    int VocabSize,
    int OutputSize,
    int ContextLength,
    int ModelDim,
    int HeadCount,
    int HeadDim,
    int MlpDim,
    HostActivation Activation,
    bool UseLayerNorm,
    double LayerNormEps,
    IReadOnlyList<HostAttention> Attention,
    bool ScaleAttention,
    bool QkvBias,
    bool OutProjBias,
    bool MlpBias,
    bool TiedUnembedding,
    double? InitStd)
{
    /// <summary>Number of transformer blocks (the length of <see cref="Attention"/>).</summary>
    public int LayerCount => Attention.Count;

    /// <summary>
    /// The grokking model of Nanda et al. (2023): tokens 0..p−1 are numbers and token p is <c>=</c>; inputs
    /// <c>a b =</c>; one layer, D 128, 4 heads of 32, MLP 512 with ReLU, no LayerNorm, no attention biases,
    /// untied unembedding onto the p answers (logits width p, not p+1: <c>=</c> is never an answer).
    /// </summary>
    public static HostConfig ModularAddition(int p = 113) => new(
        VocabSize: p + 1, OutputSize: p, ContextLength: 3, ModelDim: 128, HeadCount: 4, HeadDim: 32, MlpDim: 512,
        Activation: HostActivation.Relu, UseLayerNorm: false, LayerNormEps: 1e-5,
        Attention: [HostAttention.Global], ScaleAttention: true,
        QkvBias: false, OutProjBias: false, MlpBias: true, TiedUnembedding: false, InitStd: null);

    /// <summary>
    /// A GPT-Neo configuration as Hugging Face builds it: LayerNorm (eps 1e-5), gelu_new, q/k/v without bias,
    /// out_proj and MLP with bias, unscaled attention, tied unembedding, layers alternating global and local.
    /// </summary>
    public static HostConfig GptNeo(int vocabSize, int contextLength, int modelDim, int headCount, int layerCount, int window, int? mlpDim = null) => new(
        VocabSize: vocabSize, OutputSize: vocabSize, ContextLength: contextLength, ModelDim: modelDim, HeadCount: headCount,
        HeadDim: modelDim / headCount, MlpDim: mlpDim ?? 4 * modelDim,
        Activation: HostActivation.GeluNew, UseLayerNorm: true, LayerNormEps: 1e-5,
        Attention: Enumerable.Range(0, layerCount).Select(i => i % 2 == 0 ? HostAttention.Global : HostAttention.Local(window)).ToArray(),
        ScaleAttention: false, QkvBias: false, OutProjBias: true, MlpBias: true, TiedUnembedding: true, InitStd: 0.02);

    /// <summary>roneneldan/TinyStories-33M: vocab 50257, context 2048, D 768, 16 heads, 4 layers, local window 256.</summary>
    public static HostConfig TinyStories33M => GptNeo(50257, 2048, 768, 16, 4, 256);

    /// <summary>Checks every field and the fields against each other.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it, its value and the allowed range.</exception>
    public HostConfig Validate()
    {
        Positive(VocabSize, nameof(VocabSize));
        Positive(OutputSize, nameof(OutputSize));
        Positive(ContextLength, nameof(ContextLength));
        Positive(ModelDim, nameof(ModelDim));
        Positive(HeadCount, nameof(HeadCount));
        Positive(HeadDim, nameof(HeadDim));
        Positive(MlpDim, nameof(MlpDim));
        if (!Enum.IsDefined(Activation))
            throw new SaeSharpException($"is {(int)Activation}; allowed: {string.Join(", ", Enum.GetNames<HostActivation>())}", field: nameof(Activation));
        if (!(LayerNormEps > 0) || double.IsInfinity(LayerNormEps))
            throw new SaeSharpException($"is {LayerNormEps}; must be a positive finite number", field: nameof(LayerNormEps));
        if (Attention is null || Attention.Count == 0)
            throw new SaeSharpException("must list at least one layer", field: nameof(Attention));
        for (int i = 0; i < Attention.Count; i++)
            if (Attention[i].Window is { } w && w < 1)
                throw new SaeSharpException($"layer {i} has local window {w}; a window must be at least 1", field: nameof(Attention));
        if (TiedUnembedding && OutputSize != VocabSize)
            throw new SaeSharpException($"is {OutputSize} but a tied unembedding needs it equal to VocabSize {VocabSize}", field: nameof(OutputSize));
        if (InitStd is { } std && (!(std > 0) || double.IsInfinity(std)))
            throw new SaeSharpException($"is {std}; must be a positive finite number or null", field: nameof(InitStd));
        return this;
    }

    /// <summary>The configuration as JSON with snake_case names (the <c>host.json</c> format).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, HostJsonContext.Default.HostConfig);

    /// <summary>Parses and validates a configuration written by <see cref="ToJson"/>.</summary>
    /// <exception cref="SaeSharpException">The JSON is malformed or a field is out of range; <paramref name="origin"/> names the source.</exception>
    public static HostConfig FromJson(string json, string origin)
    {
        HostConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, HostJsonContext.Default.HostConfig);
        }
        catch (JsonException e)
        {
            throw new SaeSharpException($"host configuration is not valid: {e.Message}", origin, inner: e);
        }
        if (config is null) throw new SaeSharpException("host configuration is null", origin);
        try
        {
            return config.Validate();
        }
        catch (SaeSharpException e)
        {
            throw new SaeSharpException(e.Message, origin, inner: e);
        }
    }

    /// <summary>Value equality that compares <see cref="Attention"/> element by element.</summary>
    public bool Equals(HostConfig? other) =>
        other is not null && VocabSize == other.VocabSize && OutputSize == other.OutputSize && ContextLength == other.ContextLength
        && ModelDim == other.ModelDim && HeadCount == other.HeadCount && HeadDim == other.HeadDim && MlpDim == other.MlpDim
        && Activation == other.Activation && UseLayerNorm == other.UseLayerNorm && LayerNormEps == other.LayerNormEps
        && Attention.SequenceEqual(other.Attention) && ScaleAttention == other.ScaleAttention && QkvBias == other.QkvBias
        && OutProjBias == other.OutProjBias && MlpBias == other.MlpBias && TiedUnembedding == other.TiedUnembedding && InitStd == other.InitStd;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(VocabSize, OutputSize, ModelDim, LayerCount, MlpDim, Activation, UseLayerNorm);

    private static void Positive(int value, string field)
    {
        if (value < 1) throw new SaeSharpException($"is {value}; must be at least 1", field: field);
    }
}
