namespace SaeSharp.Evaluation;

/// <summary>
/// Next-token cross-entropy (nats, mean over scored predictions) of a host with its residual stream at one hook left
/// alone, replaced by an SAE's reconstruction, by zeros or by its mean; and the KL divergence of the spliced model's
/// next-token distribution from the clean one.
/// </summary>
/// <param name="CeClean">The clean model.</param>
/// <param name="CeSpliced">With the SAE's reconstruction spliced in.</param>
/// <param name="CeZero">Zero ablation (NaN when not measured).</param>
/// <param name="CeMean">Mean ablation: the residual's mean over the scored sequences' replaced positions (NaN when not measured).</param>
/// <param name="KlSpliced">Mean over scored predictions of KL(p_clean ‖ p_spliced), nats.</param>
/// <param name="AccuracyClean">Top-1 accuracy, clean.</param>
/// <param name="AccuracySpliced">Top-1 accuracy with the SAE.</param>
/// <param name="AccuracyZero">Top-1 accuracy, zero-ablated (NaN when not measured).</param>
/// <param name="AccuracyMean">Top-1 accuracy, mean-ablated (NaN when not measured).</param>
/// <param name="Tokens">Scored predictions.</param>
public sealed record SplicedEvaluation(double CeClean, double CeSpliced, double CeZero, double CeMean, double KlSpliced,
    double AccuracyClean, double AccuracySpliced, double AccuracyZero, double AccuracyMean, long Tokens)
{
    /// <summary>(CE_zero − CE_spliced) / (CE_zero − CE_clean): 1 when splicing costs nothing, 0 when it is as bad as zero ablation.</summary>
    public double FractionRecovered => CeZero == CeClean ? double.NaN : (CeZero - CeSpliced) / (CeZero - CeClean);

    /// <summary>(CE_mean − CE_spliced) / (CE_mean − CE_clean): the same against mean ablation.</summary>
    public double FractionRecoveredMean => CeMean == CeClean ? double.NaN : (CeMean - CeSpliced) / (CeMean - CeClean);

    /// <summary>CE_spliced − CE_clean: the loss the SAE costs.</summary>
    public double CeGap => CeSpliced - CeClean;
}
