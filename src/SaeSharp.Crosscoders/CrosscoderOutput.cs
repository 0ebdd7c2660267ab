using static TorchSharp.torch;

namespace SaeSharp.Crosscoders;

/// <summary>One crosscoder pass with every loss term (the caller disposes the tensors).</summary>
/// <param name="Reconstruction">x̂ <c>[B, S, D]</c>.</param>
/// <param name="Latents">f <c>[B, L]</c>.</param>
/// <param name="PreActivations">Encoder pre-activations <c>[B, L]</c>.</param>
/// <param name="ReconLoss">(1/B) Σ_b Σ_s ‖x̂_b^s − x_b^s‖², 0-dim.</param>
/// <param name="SparsityLoss">L1: (1/B) Σ_b Σ_l f_bl · Σ_s ‖d_l^s‖ (before its coefficient); BatchTopK: 0. 0-dim.</param>
public sealed record CrosscoderOutput(Tensor Reconstruction, Tensor Latents, Tensor PreActivations, Tensor ReconLoss, Tensor SparsityLoss) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Reconstruction.Dispose(); Latents.Dispose(); PreActivations.Dispose(); ReconLoss.Dispose(); SparsityLoss.Dispose();
    }
}
