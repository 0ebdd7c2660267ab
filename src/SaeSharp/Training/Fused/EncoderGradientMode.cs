namespace SaeSharp.Training.Fused;

/// <summary>How <see cref="FusedCrosscoderStep"/> forms the encoder gradient ∇W_enc.</summary>
public enum EncoderGradientMode
{
    /// <summary>Sparse xᵀ·G over the selected pairs, in tiles of the input-major layout, with Adam fused per tile (default).</summary>
    Sparse,

    /// <summary>G scattered into a dense <c>[B, L]</c> buffer, ∇W_enc = xᵀ·G by one GEMM, then a dense Adam pass (for comparison).</summary>
    Dense,
}
