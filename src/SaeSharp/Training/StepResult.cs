using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// What one step measured, as tensors still on the step's device (reading them forces a sync, so the
/// trainer does so only at log intervals). All are 0-dim except <see cref="FiredCountsL"/> and, for multi-source models, the per-source sums.
/// </summary>
/// <param name="Loss">Total loss that was minimised.</param>
/// <param name="ReconLoss">(1/B) Σ ‖x̂ − x‖².</param>
/// <param name="SparsityLoss">L1 / L0 term before its coefficient (0 for TopK family).</param>
/// <param name="AuxKLoss">AuxK term before its coefficient (0 when nothing is dead).</param>
/// <param name="SquaredErrorSum">Σ ‖x̂ − x‖² over the batch: 0-dim, or <c>[S]</c> per source for a multi-source model.</param>
/// <param name="VarianceSum">Σ ‖x − mean_B(x)‖² over the batch, shaped as <paramref name="SquaredErrorSum"/> (FVU = SquaredErrorSum / VarianceSum).</param>
/// <param name="L0">Mean number of non-zero latents per row.</param>
/// <param name="FiredCountsL">float32 <c>[L]</c>: how many rows each latent was non-zero in.</param>
/// <param name="MinSelectedActivation">BatchTopK: smallest positive selected activation (threshold estimate); otherwise null.</param>
public sealed record StepResult(
    Tensor Loss, Tensor ReconLoss, Tensor SparsityLoss, Tensor AuxKLoss, Tensor SquaredErrorSum,
    Tensor VarianceSum, Tensor L0, Tensor FiredCountsL, Tensor? MinSelectedActivation) : IDisposable
{
    /// <summary>Releases every tensor.</summary>
    public void Dispose()
    {
        Loss.Dispose(); ReconLoss.Dispose(); SparsityLoss.Dispose(); AuxKLoss.Dispose();
        SquaredErrorSum.Dispose(); VarianceSum.Dispose(); L0.Dispose(); FiredCountsL.Dispose();
        MinSelectedActivation?.Dispose();
    }
}
