using MathNet.Numerics.LinearAlgebra;
using SaeSharp.Internals;
using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// Sparse probing after Kantamneni, Engels, Rajamanoharan, Tegmark and Nanda ("Are Sparse Autoencoders Useful? A
/// Case Study in Sparse Probing", 2025): for each binary label, an L2 logistic-regression probe on the raw
/// activations (the baseline) against probes on the k SAE latents whose class means differ most.
/// </summary>
/// <remarks>
/// Protocol, per label: a stratified split holds out <see cref="SparseProbingOptions.TestFraction"/> of each class;
/// the training rows are balanced by subsampling the larger class, to at most
/// <see cref="SparseProbingOptions.MaxTrainRows"/> (the paper's largest training size, 1,024, by default); latents are ranked on the balanced training rows by
/// |mean over positives − mean over negatives| divided by the latent's mean non-zero activation there; every probe
/// picks its C by cross-validated AUROC on the training rows (leave-2-out for n ≤ 12, 6-fold stratified for
/// n &lt; 128, else a hold-out of min(20%, 100)) and is refitted on all of them; the metric is test AUROC. Fits use
/// MathNet's L-BFGS on standardised features. Rows are every token row given (the paper probes the last token of each
/// prompt; pass those rows to do the same). Memory: the raw rows, plus the chosen latents' columns <c>[N, U]</c>; the
/// full code <c>[N, L]</c> is never held (two passes, each encoding a batch at a time).
/// </remarks>
public static class SparseProbing
{
    /// <summary>Probes every label.</summary>
    /// <param name="sae">The SAE whose latents the sparse probes read.</param>
    /// <param name="activationsND">Host activations <c>[N, D]</c>, D = <see cref="Sae.InputDim"/>.</param>
    /// <param name="labelsNY">Labels <c>[N, Y]</c> of the same rows in the same order, each 0 or 1.</param>
    /// <param name="labelNames">Y distinct names.</param>
    /// <param name="options">Protocol; null takes the defaults.</param>
    /// <exception cref="SaeSharpException">
    /// Shapes do not match (labels not aligned with the rows), a label is not 0/1, a label has fewer than 3 rows of a
    /// class (one to test, two to train), non-finite rows, or an option out of range.
    /// </exception>
    public static IReadOnlyList<LabelProbeResult> Run(
        Sae sae, Tensor activationsND, Tensor labelsNY, IReadOnlyList<string> labelNames, SparseProbingOptions? options = null)
    {
        options = (options ?? new SparseProbingOptions()).Validate();
        var latents = LatentActivations.FromSae(sae, activationsND, options.ActivationScale, options.BatchSize);
        long n = activationsND.shape[0];
        if (labelsNY.dim() != 2 || labelsNY.shape[0] != n || labelsNY.shape[1] != labelNames.Count)
            throw new SaeSharpException(
                $"labels have shape [{string.Join(", ", labelsNY.shape)}] but the activations have {n} rows and {labelNames.Count} label names are given: labels must have one row per activation row, in the same order",
                field: "labels");
        if (labelNames.Distinct().Count() != labelNames.Count || labelNames.Any(string.IsNullOrEmpty))
            throw new SaeSharpException("label names must be distinct and non-empty", field: "labels");
        if (n > int.MaxValue) throw new SaeSharpException($"{n} rows are more than a probe handles", field: "activations");

        float[] x = ReadFloats(activationsND);
        if (x.Any(v => !float.IsFinite(v))) throw new SaeSharpException("activations are not finite (NaN or ±∞)", field: "activations");
        var labels = ReadLabels(labelsNY, labelNames);
        var splits = labelNames.Select((name, y) => Split(name, labels[y], options, y)).ToArray();

        int kMax = Math.Min(options.KValues.Max(), latents.LatentCount);
        var chosen = ChooseLatents(latents, splits, kMax);
        int[] union = [.. chosen.SelectMany(c => c).Distinct().Order()];
        var columns = GatherColumns(latents, union);
        var position = union.Select((latent, i) => (latent, i)).ToDictionary(p => p.latent, p => p.i);

        int d = sae.InputDim;
        var results = new List<LabelProbeResult>();
        for (int y = 0; y < labelNames.Count; y++)
        {
            var split = splits[y];
            var random = new Random(StreamSeed(options.Seed, y, 1));
            var rawTrain = Matrix<double>.Build.Dense(split.Train.Length, d, (i, j) => x[(long)split.Train[i] * d + j]);
            var rawTest = Matrix<double>.Build.Dense(split.Test.Length, d, (i, j) => x[(long)split.Test[i] * d + j]);
            var (baselineLogits, baselineC, atLimit) = LogisticProbe.FitAndScore(rawTrain, split.TrainY, rawTest, options.InverseRegularization, options.MaxIterations, random);
            var sparse = new List<SparseProbeScore>();
            foreach (int requested in options.KValues)
            {
                int[] picked = [.. chosen[y].Take(Math.Min(requested, kMax))];
                var train = Matrix<double>.Build.Dense(split.Train.Length, picked.Length, (i, j) => columns[split.Train[i], position[picked[j]]]);
                var test = Matrix<double>.Build.Dense(split.Test.Length, picked.Length, (i, j) => columns[split.Test[i], position[picked[j]]]);
                var (logits, c, sparseAtLimit) = LogisticProbe.FitAndScore(train, split.TrainY, test, options.InverseRegularization, options.MaxIterations, random);
                atLimit += sparseAtLimit;
                sparse.Add(new SparseProbeScore(picked.Length, LogisticProbe.Auroc(logits, split.TestY), c, picked));
            }
            results.Add(new LabelProbeResult(labelNames[y], split.Positives, split.Train.Length, split.Test.Length,
                LogisticProbe.Auroc(baselineLogits, split.TestY), baselineC, sparse) { FitsAtIterationLimit = atLimit });
        }
        return results;
    }

    // The seed of one label's stream (0: its split, 1: its cross-validation folds), the same in every process
    // (HashCode.Combine is seeded per process, so runs with one --seed differed).
    private static int StreamSeed(int seed, int label, int stream)
    {
        ulong z = unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)(uint)label * 0xBF58476D1CE4E5B9UL + (ulong)stream);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return unchecked((int)(z ^ (z >> 31)));
    }

    private sealed record LabelSplit(int[] Train, double[] TrainY, int[] Test, double[] TestY, long Positives);

    // Stratified hold-out, then the larger class of the training rows subsampled to the smaller one's size, and both to
    // half of MaxTrainRows.
    private static LabelSplit Split(string name, bool[] label, SparseProbingOptions options, int index)
    {
        var random = new Random(StreamSeed(options.Seed, index, 0));
        int[] positives = [.. Enumerable.Range(0, label.Length).Where(i => label[i]).OrderBy(_ => random.Next())];
        int[] negatives = [.. Enumerable.Range(0, label.Length).Where(i => !label[i]).OrderBy(_ => random.Next())];
        if (positives.Length < 3 || negatives.Length < 3)
            throw new SaeSharpException(
                $"label \"{name}\" has {positives.Length} positive and {negatives.Length} negative rows; a probe needs at least 3 of each (2 to train, 1 to test)",
                field: "labels");
        int testPositives = Math.Clamp((int)Math.Round(positives.Length * options.TestFraction), 1, positives.Length - 2);
        int testNegatives = Math.Clamp((int)Math.Round(negatives.Length * options.TestFraction), 1, negatives.Length - 2);
        int balanced = Math.Min(Math.Min(positives.Length - testPositives, negatives.Length - testNegatives), options.MaxTrainRows / 2);
        int[] train = [.. positives.Skip(testPositives).Take(balanced), .. negatives.Skip(testNegatives).Take(balanced)];
        int[] test = [.. positives.Take(testPositives), .. negatives.Take(testNegatives)];
        return new LabelSplit(train, [.. train.Select(i => label[i] ? 1.0 : 0.0)], test, [.. test.Select(i => label[i] ? 1.0 : 0.0)], positives.Length);
    }

    // One pass: per label, the balanced training rows' class sums and non-zero counts of every latent, as matrix
    // products of row-indicator matrices with each batch's code.
    private static int[][] ChooseLatents(LatentActivations latents, LabelSplit[] splits, int kMax)
    {
        int labelCount = splits.Length, latentCount = latents.LatentCount;
        var positiveNY = new float[latents.RowCount * labelCount];
        var negativeNY = new float[latents.RowCount * labelCount];
        for (int y = 0; y < labelCount; y++)
            for (int i = 0; i < splits[y].Train.Length; i++)
                (splits[y].TrainY[i] > 0.5 ? positiveNY : negativeNY)[(long)splits[y].Train[i] * labelCount + y] = 1;
        using var positiveIndicator = tensor(positiveNY, [latents.RowCount, labelCount]);
        using var negativeIndicator = tensor(negativeNY, [latents.RowCount, labelCount]);
        var positiveSums = new double[labelCount * latentCount];
        var negativeSums = new double[labelCount * latentCount];
        var nonZero = new double[labelCount * latentCount];
        foreach (var (start, batchBL) in latents.Batches())
        {
            using var scope = NewDisposeScope();
            long length = batchBL.shape[0];
            var posBY = positiveIndicator.narrow(0, start, length);
            var negBY = negativeIndicator.narrow(0, start, length);
            Accumulate(positiveSums, posBY.t().matmul(batchBL));
            Accumulate(negativeSums, negBY.t().matmul(batchBL));
            Accumulate(nonZero, posBY.add(negBY, HeldScalars.One).t().matmul(batchBL.ne(HeldScalars.Zero).to(ScalarType.Float32)));
        }
        var chosen = new int[labelCount][];
        for (int y = 0; y < labelCount; y++)
        {
            double half = splits[y].Train.Length / 2.0;
            var score = new double[latentCount];
            for (int j = 0; j < latentCount; j++)
            {
                int at = y * latentCount + j;
                double meanNonZero = nonZero[at] > 0 ? (positiveSums[at] + negativeSums[at]) / nonZero[at] : 0;
                score[j] = meanNonZero > 0 ? Math.Abs(positiveSums[at] / half - negativeSums[at] / half) / Math.Abs(meanNonZero) : 0;
            }
            chosen[y] = [.. Enumerable.Range(0, latentCount).OrderByDescending(j => score[j]).ThenBy(j => j).Take(kMax)];
        }
        return chosen;
    }

    private static void Accumulate(double[] sums, Tensor batchYL)
    {
        var values = batchYL.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        for (int i = 0; i < values.Length; i++) sums[i] += values[i];
    }

    private static float[,] GatherColumns(LatentActivations latents, int[] union)
    {
        var columns = new float[latents.RowCount, union.Length];
        if (union.Length == 0) return columns;
        using var index = tensor(union.Select(i => (long)i).ToArray());
        foreach (var (start, batchBL) in latents.Batches())
        {
            using var picked = batchBL.index_select(1, index).contiguous();
            var values = picked.data<float>().ToArray();
            for (int i = 0; i < values.Length; i++) columns[start + i / union.Length, i % union.Length] = values[i];
        }
        return columns;
    }

    private static float[] ReadFloats(Tensor t)
    {
        using var cpu = t.detach().to(ScalarType.Float32).cpu().contiguous();
        return cpu.data<float>().ToArray();
    }

    private static bool[][] ReadLabels(Tensor labelsNY, IReadOnlyList<string> names)
    {
        using var cpu = labelsNY.detach().to(ScalarType.Float64).cpu().contiguous();
        var values = cpu.data<double>().ToArray();
        int y = names.Count;
        long n = labelsNY.shape[0];
        var labels = new bool[y][];
        for (int j = 0; j < y; j++)
        {
            labels[j] = new bool[n];
            for (long i = 0; i < n; i++)
            {
                double v = values[i * y + j];
                if (v != 0 && v != 1)
                    throw new SaeSharpException($"label \"{names[j]}\" is {v} at row {i}; labels must be 0 or 1", field: "labels");
                labels[j][i] = v == 1;
            }
        }
        return labels;
    }
}
