namespace SaeSharp.Analysis;

/// <summary>The host's loss and accuracy over all inputs with its residual stream left alone, replaced by an SAE's reconstruction, or zeroed.</summary>
/// <param name="LossClean">Mean cross-entropy, untouched.</param>
/// <param name="LossSae">With the residual stream at the hook replaced by the SAE's reconstruction.</param>
/// <param name="LossZero">With it replaced by zeros.</param>
/// <param name="AccuracyClean">Accuracy, untouched.</param>
/// <param name="AccuracySae">Accuracy with the reconstruction.</param>
/// <param name="AccuracyZero">Accuracy with zeros.</param>
public sealed record SplicedLoss(double LossClean, double LossSae, double LossZero, double AccuracyClean, double AccuracySae, double AccuracyZero)
{
    /// <summary>(L_zero − L_sae) / (L_zero − L_clean): 1 when splicing costs nothing, 0 when it is as bad as zero-ablation.</summary>
    public double FractionRecovered => LossZero == LossClean ? double.NaN : (LossZero - LossSae) / (LossZero - LossClean);
}
