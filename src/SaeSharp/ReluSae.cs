using static TorchSharp.torch;

namespace SaeSharp;

/// <summary>
/// ReLU SAE with the decoder-norm-weighted L1 penalty (Anthropic, April 2024):
/// z = ReLU(pre), sparsity = (1/B) Σ_b Σ_i z_bi ‖W_dec,i‖.
/// </summary>
public sealed class ReluSae : Sae
{
    internal ReluSae(SaeConfig config) : base(config, nameof(ReluSae)) { }

    // The April update initialises decoder rows small (norm 0.1) and lets them grow.
    private protected override double InitialDecoderNorm => 0.1;

    private protected override Tensor Activate(Tensor preActsBL, bool training) => preActsBL.relu();

    private protected override Tensor SparsityLoss(Tensor preActsBL, Tensor latentsBL)
    {
        using var normsL = DecoderWeightLD.norm(1);
        using var weightedBL = latentsBL.mul(normsL);
        using var perRowB = weightedBL.sum(1);
        return perRowB.mean();
    }
}
