using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// Scores SAE latents against ground-truth binary labels: for each label, the single latent that detects it best
/// (F1 of "latent fires" against "label holds"), with that detector's precision, recall and AUROC; for each latent,
/// its density and best label; and coverage, the fraction of labels some latent detects with F1 ≥ 0.8.
/// </summary>
/// <remarks>
/// Cost: the true-positive counts of every (latent, label) pair come from one matrix product per batch and
/// threshold, <c>fired[B, L]ᵀ · labels[B, Y]</c> in float32 (exact: a batch's counts stay far below 2²⁴), summed in
/// float64 across batches. Memory: O(K·L·Y) counts plus one batch, never the whole <c>[N, L]</c> code. Two or three passes
/// over the rows: each latent's maximum (only for fractional thresholds), the counts, and the chosen latents' columns
/// for their AUROC (in chunks of at most 2²⁵ values).
/// </remarks>
public static class LabelScoring
{
    private const long ColumnValuesPerPass = 1L << 25;

    /// <summary>Scores every latent against every label.</summary>
    /// <param name="latents">The latent activations of N rows.</param>
    /// <param name="labelsNY">Labels <c>[N, Y]</c> of the same rows in the same order, every entry 0 or 1 (bool, integer or floating).</param>
    /// <param name="labelNames">Y distinct, non-empty names.</param>
    /// <param name="options">Thresholds and coverage rule; null takes the defaults.</param>
    /// <exception cref="SaeSharpException">Shapes or names do not match, a label is not 0 or 1, an activation is not finite, or an option is out of range.</exception>
    public static LabelScores Score(LatentActivations latents, Tensor labelsNY, IReadOnlyList<string> labelNames, LabelScoringOptions? options = null)
    {
        options = (options ?? new LabelScoringOptions()).Validate();
        CheckLabels(latents, labelsNY, labelNames);
        int latentCount = latents.LatentCount, labelCount = labelNames.Count;
        long rows = latents.RowCount;
        double[] fractions = [.. options.ThresholdFractions.Distinct().Order()];

        // Fractional thresholds need each latent's maximum before counting; threshold 0 alone does not, and the
        // counting pass then measures maxima and densities itself (one pass fewer: each pass re-encodes for an SAE).
        float[] maxL;
        double[] activeL;
        Tensor thresholdsKL;
        if (fractions.Any(f => f > 0))
        {
            (maxL, activeL) = MaximaAndActiveCounts(latents);
            thresholdsKL = tensor(fractions.Select(f => (float)f).ToArray()).unsqueeze(1)
                .mul(tensor(maxL).clamp_min(HeldScalars.Zero).unsqueeze(0));
        }
        else
        {
            (maxL, activeL) = ([], []);
            thresholdsKL = zeros(1, latentCount);
        }
        using var heldThresholds = thresholdsKL;
        var (firesKL, truePositivesKLY, supportY, countedMaxL, countedActiveL) = Counts(latents, labelsNY, thresholdsKL);
        if (maxL.Length == 0) (maxL, activeL) = (countedMaxL, countedActiveL);

        double[] bestF1Y, bestF1L;
        long[] bestLatentY, bestLabelL, thresholdIndexLY;
        using (var scope = NewDisposeScope())
        {
            // F1 = 2·TP / (fires + support); a zero denominator has TP = 0, so clamping it to 1 gives F1 = 0.
            var denominatorKLY = firesKL.unsqueeze(2).add(supportY.view(1, 1, labelCount), HeldScalars.One).clamp_min(HeldScalars.One);
            var f1KLY = truePositivesKLY.mul(HeldScalars.Two).div(denominatorKLY);
            var (f1LY, kLY) = f1KLY.max(0);
            var (f1Y, latentY) = f1LY.max(0);
            var (f1L, labelL) = f1LY.max(1);
            bestF1Y = f1Y.data<double>().ToArray();
            bestLatentY = latentY.data<long>().ToArray();
            bestF1L = f1L.data<double>().ToArray();
            bestLabelL = labelL.data<long>().ToArray();
            thresholdIndexLY = kLY.contiguous().data<long>().ToArray();
        }

        double[] fires = firesKL.contiguous().data<double>().ToArray(), truePositives = truePositivesKLY.contiguous().data<double>().ToArray();
        double[] support = supportY.data<double>().ToArray(), thresholds = thresholdsKL.contiguous().data<float>().Select(t => (double)t).ToArray();
        firesKL.Dispose();
        truePositivesKLY.Dispose();
        supportY.Dispose();

        var labels = new LabelScore[labelCount];
        for (int y = 0; y < labelCount; y++)
        {
            int latent = (int)bestLatentY[y];
            if (bestF1Y[y] <= 0)
            {
                labels[y] = new LabelScore(y, labelNames[y], (long)support[y], -1, 0, 0, 0, 0, double.NaN);
                continue;
            }
            long k = thresholdIndexLY[(long)latent * labelCount + y];
            double tp = truePositives[(k * latentCount + latent) * labelCount + y], fired = fires[k * latentCount + latent];
            labels[y] = new LabelScore(y, labelNames[y], (long)support[y], latent, thresholds[k * latentCount + latent], bestF1Y[y],
                tp / fired, tp / support[y], double.NaN);
        }
        AddAurocs(latents, labelsNY, labels);

        var matches = new LatentMatch[latentCount];
        for (int j = 0; j < latentCount; j++)
            matches[j] = new LatentMatch(j, activeL[j] / rows, maxL[j], bestF1L[j] > 0 ? (int)bestLabelL[j] : -1, bestF1L[j]);
        return new LabelScores(rows, labels, matches, options);
    }

    /// <summary>Each latent's largest activation and the number of rows where it is &gt; 0, in one pass.</summary>
    internal static (float[] MaxL, double[] ActiveL) MaximaAndActiveCounts(LatentActivations latents)
    {
        using var maxL = full(latents.LatentCount, HeldScalars.NegativeInfinity);
        using var activeL = zeros(latents.LatentCount, dtype: ScalarType.Float64);
        foreach (var (_, batchBL) in latents.Batches())
        {
            using var scope = NewDisposeScope();
            maxL.copy_(maximum(maxL, batchBL.amax(0)));
            activeL.add_(batchBL.gt(HeldScalars.Zero).sum(0, type: ScalarType.Float64), HeldScalars.One);
        }
        return (maxL.data<float>().ToArray(), activeL.data<double>().ToArray());
    }

    private static (Tensor FiresKL, Tensor TruePositivesKLY, Tensor SupportY, float[] MaxL, double[] ActiveL) Counts(
        LatentActivations latents, Tensor labelsNY, Tensor thresholdsKL)
    {
        long k = thresholdsKL.shape[0];
        int labelCount = (int)labelsNY.shape[1];
        var firesKL = zeros(k, latents.LatentCount, dtype: ScalarType.Float64);
        var truePositivesKLY = zeros(k, latents.LatentCount, labelCount, dtype: ScalarType.Float64);
        var supportY = zeros(labelCount, dtype: ScalarType.Float64);
        using var maxL = full(latents.LatentCount, HeldScalars.NegativeInfinity);
        using var activeL = zeros(latents.LatentCount, dtype: ScalarType.Float64);
        foreach (var (start, batchBL) in latents.Batches())
        {
            using var scope = NewDisposeScope();
            maxL.copy_(maximum(maxL, batchBL.amax(0)));
            activeL.add_(batchBL.gt(HeldScalars.Zero).sum(0, type: ScalarType.Float64), HeldScalars.One);
            var labelsBY = LabelBatch(labelsNY, start, batchBL.shape[0]);
            supportY.add_(labelsBY.sum(0, type: ScalarType.Float64), HeldScalars.One);
            for (long i = 0; i < k; i++)
            {
                var firedBL = batchBL.gt(thresholdsKL[i]).to(ScalarType.Float32);
                firesKL[i].add_(firedBL.sum(0, type: ScalarType.Float64), HeldScalars.One);
                truePositivesKLY[i].add_(firedBL.t().matmul(labelsBY).to(ScalarType.Float64), HeldScalars.One);
            }
        }
        return (firesKL, truePositivesKLY, supportY, maxL.data<float>().ToArray(), activeL.data<double>().ToArray());
    }

    /// <summary>The labels of rows [start, start + length) as float32 on the CPU, checked to be 0 or 1.</summary>
    private static Tensor LabelBatch(Tensor labelsNY, long start, long length)
    {
        var labelsBY = labelsNY.narrow(0, start, length).to(ScalarType.Float32).cpu();
        using var badBY = labelsBY.ne(HeldScalars.Zero).logical_and_(labelsBY.ne(HeldScalars.One));
        if (badBY.any().item<bool>())
        {
            using var first = badBY.nonzero()[0];
            long row = start + first[0].item<long>(), column = first[1].item<long>();
            throw new SaeSharpException($"label {column} of row {row} is {labelsBY[row - start, column].item<float>()}; labels must be 0 or 1", field: "labels");
        }
        return labelsBY;
    }

    /// <summary>Fills in each label's AUROC from its best latent's column, gathering a bounded number of columns per pass.</summary>
    private static void AddAurocs(LatentActivations latents, Tensor labelsNY, LabelScore[] labels)
    {
        var chosen = labels.Where(l => l.BestLatent >= 0).Select(l => l.BestLatent).Distinct().Order().ToArray();
        int perPass = (int)Math.Clamp(ColumnValuesPerPass / latents.RowCount, 1, int.MaxValue);
        for (int first = 0; first < chosen.Length; first += perPass)
        {
            var chunk = chosen.AsSpan(first, Math.Min(perPass, chosen.Length - first)).ToArray();
            using var scope = NewDisposeScope();
            using var columnsIndex = tensor(chunk.Select(c => (long)c).ToArray());
            var parts = new List<Tensor>();
            foreach (var (_, batchBL) in latents.Batches())
                parts.Add(batchBL.index_select(1, columnsIndex));
            var columnsNC = cat(parts, 0);
            for (int y = 0; y < labels.Length; y++)
            {
                int c = Array.IndexOf(chunk, labels[y].BestLatent);
                if (c < 0) continue;
                var scoresN = columnsNC.select(1, c);
                var labelN = labelsNY.select(1, y);
                labels[y] = labels[y] with { Auroc = Auroc.Compute(scoresN, labelN) };
            }
        }
    }

    private static void CheckLabels(LatentActivations latents, Tensor labelsNY, IReadOnlyList<string> labelNames)
    {
        if (labelsNY.dim() != 2 || labelsNY.shape[1] < 1)
            throw new SaeSharpException($"labels must be a [N, Y] tensor with Y ≥ 1, got [{string.Join(", ", labelsNY.shape)}]", field: "labels");
        if (labelsNY.shape[0] != latents.RowCount)
            throw new SaeSharpException($"labels have {labelsNY.shape[0]} rows but the latent activations have {latents.RowCount}", field: "labels");
        if (labelNames.Count != labelsNY.shape[1])
            throw new SaeSharpException($"{labelNames.Count} label names for {labelsNY.shape[1]} label columns", field: "label_names");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int y = 0; y < labelNames.Count; y++)
        {
            if (string.IsNullOrWhiteSpace(labelNames[y]))
                throw new SaeSharpException($"label {y} has an empty name", field: "label_names");
            if (!seen.Add(labelNames[y]))
                throw new SaeSharpException($"label name '{labelNames[y]}' appears twice", field: "label_names");
        }
    }
}
