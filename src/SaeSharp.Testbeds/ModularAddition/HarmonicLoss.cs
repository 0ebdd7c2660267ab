using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// The harmonic loss (Baek, Liu, Tyagi and Tegmark 2025, "Harmonic Loss Trains Interpretable AI Models"): class i's
/// probability comes from the distance d_i = ‖w_i − x‖ of the final representation x to class i's weight vector w_i,
/// p_i = d_i^(−n) / Σ_j d_j^(−n) ("HarMax"), and the loss is −log p_y.
/// </summary>
/// <remarks>
/// HarMax is a softmax of the logits −n·log d_i = −(n/2)·log d_i², so the loss is cross-entropy on those logits. Working in
/// logs is what the authors' division of d² by its row minimum buys (d^(−n) under- or overflows for n ≈ 100); a softmax
/// is unchanged by the per-row shift that division is. Squared distances come from ‖x‖² − 2x·w + ‖w‖² (one matrix
/// product instead of a <c>[B, C, D]</c> difference) and are clamped at <see cref="MinSquaredDistance"/>, so that a
/// representation on top of its class vector gives a large finite logit rather than infinity.
/// </remarks>
public static class HarmonicLoss
{
    /// <summary>The floor of the squared distances (a representation exactly at a class vector).</summary>
    public const double MinSquaredDistance = 1e-12;

    /// <summary>The HarMax logits −(n/2)·log d²: representations <c>[B, D]</c>, class vectors <c>[C, D]</c> → <c>[B, C]</c>. Differentiable.</summary>
    /// <exception cref="SaeSharpException">The shapes disagree or the exponent is not positive and finite.</exception>
    public static Tensor Logits(Tensor hiddenBD, Tensor weightsCD, double exponent)
    {
        if (hiddenBD.dim() != 2 || weightsCD.dim() != 2 || hiddenBD.shape[1] != weightsCD.shape[1])
            throw new SaeSharpException($"representations [{string.Join(", ", hiddenBD.shape)}] and class vectors [{string.Join(", ", weightsCD.shape)}] must be [B, D] and [C, D]", field: "hidden");
        if (!(exponent > 0) || double.IsInfinity(exponent))
            throw new SaeSharpException($"is {exponent}; must be positive and finite", field: "exponent");
        using var scope = NewDisposeScope();
        using var minusTwo = (-2.0).ToScalar();
        using var floor = MinSquaredDistance.ToScalar();
        using var scale = (-exponent / 2).ToScalar();
        var squaredNormsB1 = hiddenBD.pow(HeldScalars.Two).sum(1, keepdim: true);
        var squaredNorms1C = weightsCD.pow(HeldScalars.Two).sum(1).unsqueeze(0);
        var squaredDistancesBC = squaredNormsB1.add(squaredNorms1C, HeldScalars.One).add(hiddenBD.matmul(weightsCD.t()), minusTwo).clamp_min(floor);
        return squaredDistancesBC.log().mul(scale).MoveToOuterDisposeScope();
    }

    /// <summary>The mean harmonic loss −log p_y over the batch: representations <c>[B, D]</c>, class vectors <c>[C, D]</c>, labels <c>[B]</c> (int64). A scalar tensor, differentiable.</summary>
    /// <exception cref="SaeSharpException">The shapes disagree or the exponent is not positive and finite.</exception>
    public static Tensor Loss(Tensor hiddenBD, Tensor weightsCD, Tensor labelsB, double exponent)
    {
        using var logitsBC = Logits(hiddenBD, weightsCD, exponent);
        return nn.functional.cross_entropy(logitsBC, labelsB);
    }
}
