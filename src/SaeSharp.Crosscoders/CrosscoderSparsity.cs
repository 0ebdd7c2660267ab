namespace SaeSharp.Crosscoders;

/// <summary>How a crosscoder keeps its code sparse.</summary>
public enum CrosscoderSparsity
{
    /// <summary>
    /// ReLU latents with the L1 penalty weighted by the sum of the latent's per-source decoder norms,
    /// λ · Σ_l f_l · Σ_s ‖d_l^s‖ (Lindsey et al. 2024, the original crosscoder).
    /// </summary>
    L1,

    /// <summary>
    /// BatchTopK on the decoder-norm-weighted activations f_l · Σ_s ‖d_l^s‖: the B·K largest of the batch
    /// survive in training, a threshold estimated in training applies at inference (Minder et al. 2025,
    /// recommended after the L1 crosscoder's shrinkage artifacts were found).
    /// </summary>
    BatchTopK,
}
