using static TorchSharp.torch;

namespace SaeSharp;

/// <summary>
/// Everything one forward pass computes. In training mode the latents follow the training rule
/// (BatchTopK selects across the batch); in evaluation mode they equal <see cref="Sae.Encode"/>.
/// </summary>
/// <param name="ReconBD">Reconstruction x̂ <c>[B, D]</c>.</param>
/// <param name="LatentsBL">Latent code z <c>[B, L]</c>.</param>
/// <param name="PreActsBL">Encoder pre-activations <c>[B, L]</c> (AuxK reads them).</param>
/// <param name="ReconLoss">(1/B) Σ_b ‖x̂_b − x_b‖², 0-dim.</param>
/// <param name="SparsityLoss">The architecture's sparsity term before its coefficient (L1 or L0), 0-dim; zero for the TopK family.</param>
public sealed record SaeOutput(Tensor ReconBD, Tensor LatentsBL, Tensor PreActsBL, Tensor ReconLoss, Tensor SparsityLoss);
