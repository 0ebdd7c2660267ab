using static TorchSharp.torch;

namespace SaeSharp.Dashboards;

/// <summary>
/// What a latent's decoder direction does to the host's next-token logits: the direct effect W_dec[j] · W_Uᵀ over
/// the vocabulary (the logit lens on one latent, ignoring the final layer norm).
/// </summary>
/// <param name="DecoderLD">The SAE's decoder <c>[L, D]</c> (<see cref="Sae.DecoderWeights"/>).</param>
/// <param name="UnembeddingVD">The host's unembedding <c>[V, D]</c> (for a tied model, the token embedding).</param>
/// <param name="DecodeToken">The display string of a vocabulary index in [0, V).</param>
public sealed record DashboardLogits(Tensor DecoderLD, Tensor UnembeddingVD, Func<int, string> DecodeToken);
