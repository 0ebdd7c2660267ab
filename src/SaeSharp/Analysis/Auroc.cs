using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>The area under the ROC curve of a score as a detector of a binary label.</summary>
public static class Auroc
{
    /// <summary>
    /// AUROC = P(score of a positive &gt; score of a negative) + ½ P(tie), computed exactly by the Mann–Whitney rank
    /// sum with tied scores given their average rank (ties matter: an SAE latent is exactly 0 on most rows).
    /// </summary>
    /// <param name="scoresN">Scores <c>[N]</c>, finite.</param>
    /// <param name="labelsN">Labels <c>[N]</c>, nonzero = positive.</param>
    /// <returns>The AUROC in [0, 1]; NaN when every row is positive or every row negative.</returns>
    /// <exception cref="SaeSharpException">The shapes differ or a score is not finite.</exception>
    public static double Compute(Tensor scoresN, Tensor labelsN)
    {
        using var scope = NewDisposeScope();
        var scores = scoresN.detach().flatten().to(ScalarType.Float64).cpu();
        var positive = labelsN.detach().flatten().cpu().ne(HeldScalars.Zero);
        if (scores.shape[0] != positive.shape[0])
            throw new SaeSharpException($"{scores.shape[0]} scores but {positive.shape[0]} labels", field: "labels");
        if (!scores.isfinite().all().item<bool>())
            throw new SaeSharpException("scores are not finite (NaN or ±∞)", field: "scores");
        long n = scores.shape[0];
        long positives = positive.sum().item<long>(), negatives = n - positives;
        if (positives == 0 || negatives == 0) return double.NaN;

        var (_, groupN, counts) = unique(scores, sorted: true, return_inverse: true, return_counts: true);
        var countsG = counts!.to(ScalarType.Float64);
        var lastRankG = countsG.cumsum(0);
        // The ranks of a tie group run from last − count + 1 to last; each member gets their mean.
        var meanRankG = lastRankG.mul(HeldScalars.Two).add_(countsG.neg(), HeldScalars.One).add_(ones_like(countsG), HeldScalars.One).mul_(HeldScalars.Half);
        double positiveRankSum = meanRankG.index_select(0, groupN!).masked_select(positive).sum().item<double>();
        return (positiveRankSum - positives * (positives + 1.0) / 2.0) / ((double)positives * negatives);
    }
}
