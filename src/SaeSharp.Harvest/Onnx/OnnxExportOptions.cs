using SaeSharp.Hosts;

namespace SaeSharp.Harvest.Onnx;

/// <summary>What <see cref="OnnxExporter"/> adds around a host's own graph. The default adds nothing.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// The model's compact vocabulary, or null (default) when its token ids are the tokenizer's. When set, the graph
    /// takes tokenizer ids and returns logits indexed by tokenizer id: <c>input_ids</c> go through a lookup (Gather)
    /// to compact indices, an id outside the vocabulary reading the row of <see cref="CompactVocabulary.UnknownId"/>;
    /// <c>logits</c> are <see cref="CompactVocabulary.OriginalSize"/> wide, each used id's column holding its compact
    /// logit exactly and every other column <see cref="UnusedLogit"/>.
    /// </summary>
    public CompactVocabulary? Vocabulary { get; init; }

    /// <summary>
    /// Whether the graph takes an optional <c>attention_mask</c> int64 <c>[batch, sequence]</c> (default false): keys
    /// where it is 0 are not attended to, as in Hugging Face. Optional in the ONNX sense: it is an initializer of
    /// shape [1, 1] holding 1 (attend everywhere) that a caller may override with its own mask.
    /// </summary>
    public bool AttentionMask { get; init; }

    /// <summary>
    /// An SAE to splice into the graph at a hook point (<c>resid_pre.i</c>, <c>resid_mid.i</c> or <c>resid_post.i</c>),
    /// or null (default): the residual stream there is replaced by the SAE's inference reconstruction at every position,
    /// so that any ONNX runtime measures the host with the SAE spliced in. TopK and ReLU SAEs are supported.
    /// </summary>
    public (string Hook, Sae Sae)? Splice { get; init; }

    /// <summary>The logit of a tokenizer id outside <see cref="Vocabulary"/>: −10⁹, finite so that a softmax or log-softmax over the row never meets ∞ − ∞.</summary>
    public const float UnusedLogit = -1e9f;
}
