using SaeSharp.Internals;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// Crystal-scale geometry after Li et al. ("The Geometry of Concepts", 2024): for word pairs (a, b) under relations
/// (singular → plural, present → past, male → female), the difference vectors b − a of one relation should point the
/// same way, so they cluster by relation, and two pairs of a relation should form a parallelogram. Linear discriminant
/// analysis (LDA) fitted on (difference, relation) projects out distractor directions (word length, frequency) before
/// the clusters are scored by silhouette, against the same pipeline on shuffled relation labels.
/// </summary>
/// <remarks>
/// The LDA is Fisher's: the top relations − 1 eigenvectors of S_w^−½·S_b·S_w^−½ (<c>torch.linalg.eigh</c>, float64),
/// S_w shrunk by <see cref="CrystalOptions.Shrinkage"/>. The pairs are split in two halves, stratified by relation; each
/// half is projected by the LDA fitted on the other, and the silhouette (Euclidean) is taken over both projected halves
/// in turn and averaged, so a projection is never scored on the pairs it was fitted to.
/// </remarks>
public static class CrystalGeometry
{
    /// <summary>Scores the relation clusters and parallelograms of word pairs.</summary>
    /// <param name="firstPD">First word of each pair <c>[P, D]</c> (e.g. the singular).</param>
    /// <param name="secondPD">Second word of each pair <c>[P, D]</c> (e.g. the plural).</param>
    /// <param name="relations">Relation label of each pair, P of them.</param>
    /// <param name="options">Shrinkage and null; null takes the defaults.</param>
    /// <exception cref="SaeSharpException">
    /// Shapes differ or are not 2-D floating; labels do not match the pairs; fewer than 2 relations; a relation with
    /// fewer than 4 pairs (2 in each half); non-finite vectors; difference vectors that are all zero.
    /// </exception>
    public static CrystalResult Analyze(Tensor firstPD, Tensor secondPD, IReadOnlyList<string> relations, CrystalOptions? options = null)
    {
        options = (options ?? new CrystalOptions()).Validate();
        if (firstPD.dim() != 2 || !firstPD.is_floating_point() || !secondPD.is_floating_point() || !firstPD.shape.SequenceEqual(secondPD.shape))
            throw new SaeSharpException(
                $"the pairs' vectors have shapes [{string.Join(", ", firstPD.shape)}] and [{string.Join(", ", secondPD.shape)}]; expected two floating [P, D] matrices of the same shape",
                field: "pairs");
        int p = (int)firstPD.shape[0], d = (int)firstPD.shape[1];
        if (relations.Count != p)
            throw new SaeSharpException($"{relations.Count} relation labels for {p} pairs: expected one label per pair", field: "relations");
        string[] names = [.. relations.Distinct()];
        if (names.Length < 2) throw new SaeSharpException($"{names.Length} relation(s); clusters need at least 2", field: "relations");
        foreach (var name in names)
        {
            int count = relations.Count(r => r == name);
            if (count < 4)
                throw new SaeSharpException($"relation \"{name}\" has {count} pairs; each relation needs at least 4 (2 to fit and 2 to score in each half)", field: "relations");
        }
        var a = Rows(firstPD);
        var b = Rows(secondPD);
        if (a.Concat(b).Any(row => row.Any(v => !double.IsFinite(v))))
            throw new SaeSharpException("the pairs' vectors are not finite (NaN or ±∞)", field: "pairs");
        var differences = a.Select((row, i) => row.Select((v, j) => b[i][j] - v).ToArray()).ToArray();
        if (differences.All(row => row.All(v => v == 0)))
            throw new SaeSharpException("every pair's two vectors are equal, so there are no differences to cluster", field: "pairs");

        int[] labels = [.. relations.Select(r => Array.IndexOf(names, r))];
        var random = new Random(options.Seed);
        double silhouette = HeldOutLdaSilhouette(differences, labels, names.Length, options.Shrinkage);
        double raw = Clusters.Silhouette(differences, labels);
        double silhouetteNull = 0, rawNull = 0;
        var shuffled = (int[])labels.Clone();
        for (int i = 0; i < options.NullPermutations; i++)
        {
            random.Shuffle(shuffled);
            silhouetteNull += HeldOutLdaSilhouette(differences, shuffled, names.Length, options.Shrinkage);
            rawNull += Clusters.Silhouette(differences, shuffled);
        }
        var (same, different) = Parallelograms(a, b, labels);
        return new CrystalResult(p, names, names.Length - 1, silhouette, silhouetteNull / options.NullPermutations,
            raw, rawNull / options.NullPermutations, same, different);
    }

    /// <summary>
    /// The parallelogram quality of points a, b, c, d (Li et al.): √((|ab| − |cd|)² + (|ac| − |bd|)²) /
    /// √((|ab|² + |bc|² + |cd|² + |ad|²)/2); 0 for a perfect parallelogram with ab ∥ cd.
    /// </summary>
    internal static double ParallelogramQuality(double[] a, double[] b, double[] c, double[] d)
    {
        double ab = Distance(a, b), cd = Distance(c, d), ac = Distance(a, c), bd = Distance(b, d), bc = Distance(b, c), ad = Distance(a, d);
        double scale = Math.Sqrt((ab * ab + bc * bc + cd * cd + ad * ad) / 2);
        return scale == 0 ? 0 : Math.Sqrt((ab - cd) * (ab - cd) + (ac - bd) * (ac - bd)) / scale;
    }

    private static (double Same, double Different) Parallelograms(double[][] a, double[][] b, int[] labels)
    {
        double same = 0, different = 0;
        long sameCount = 0, differentCount = 0;
        for (int i = 0; i < a.Length; i++)
            for (int j = i + 1; j < a.Length; j++)
            {
                double q = ParallelogramQuality(a[i], b[i], a[j], b[j]);
                if (labels[i] == labels[j])
                {
                    same += q;
                    sameCount++;
                }
                else
                {
                    different += q;
                    differentCount++;
                }
            }
        return (same / sameCount, different / differentCount);
    }

    // Two halves, stratified by label (alternate members of each relation); each scored under the other's LDA.
    private static double HeldOutLdaSilhouette(double[][] x, int[] labels, int classes, double shrinkage)
    {
        var seen = new int[classes];
        var half = labels.Select(l => seen[l]++ % 2).ToArray();
        double total = 0;
        for (int fold = 0; fold < 2; fold++)
        {
            int[] fit = [.. Enumerable.Range(0, x.Length).Where(i => half[i] != fold)];
            int[] score = [.. Enumerable.Range(0, x.Length).Where(i => half[i] == fold)];
            var projection = FitLda([.. fit.Select(i => x[i])], [.. fit.Select(i => labels[i])], classes, shrinkage);
            total += Clusters.Silhouette([.. score.Select(i => Project(x[i], projection))], [.. score.Select(i => labels[i])]);
        }
        return total / 2;
    }

    // Fisher LDA: whiten by the shrunk within-class scatter, then the top (classes − 1) directions of the between-class
    // scatter in whitened coordinates; returns the projection [D, classes − 1] as rows of D.
    private static double[][] FitLda(double[][] x, int[] labels, int classes, double shrinkage)
    {
        int n = x.Length, d = x[0].Length;
        var flat = new double[n * d];
        for (int i = 0; i < n; i++) Array.Copy(x[i], 0, flat, i * d, d);
        using var scope = NewDisposeScope();
        var xND = tensor(flat, [n, d]);
        var mean = xND.mean([0L], keepdim: true);
        var within = zeros(d, d, dtype: ScalarType.Float64);
        var between = zeros(d, d, dtype: ScalarType.Float64);
        for (int c = 0; c < classes; c++)
        {
            long[] members = [.. Enumerable.Range(0, n).Where(i => labels[i] == c).Select(i => (long)i)];
            if (members.Length == 0) continue;
            var rows = xND.index_select(0, tensor(members));
            var classMean = rows.mean([0L], keepdim: true);
            var centred = rows.sub(classMean);
            within = within.add(centred.t().matmul(centred), HeldScalars.One);
            var offset = classMean.sub(mean);
            using var weight = ((double)members.Length).ToScalar();
            between = between.add(offset.t().matmul(offset), weight);
        }
        double trace = within.trace().item<double>();
        using var keep = (1 - shrinkage).ToScalar();
        using var ridge = (shrinkage * Math.Max(trace, 1e-300) / d).ToScalar();
        var shrunk = within.mul(keep).add(eye(d, dtype: ScalarType.Float64), ridge);
        var (values, vectors) = linalg.eigh(shrunk);
        using var tiny = 1e-300.ToScalar();
        var whitening = vectors.div(values.clamp_min(tiny).sqrt().unsqueeze(0));
        var whitenedBetween = whitening.t().matmul(between).matmul(whitening);
        var (_, top) = Eigen.Top(whitenedBetween.add(whitenedBetween.t(), HeldScalars.One).div(HeldScalars.Two), classes - 1);
        var projection = whitening.matmul(top).contiguous().data<double>().ToArray();
        int k = classes - 1;
        return [.. Enumerable.Range(0, d).Select(j => projection.AsSpan(j * k, k).ToArray())];
    }

    private static double[] Project(double[] x, double[][] projectionDK)
    {
        int k = projectionDK[0].Length;
        var y = new double[k];
        for (int j = 0; j < x.Length; j++)
            for (int c = 0; c < k; c++) y[c] += x[j] * projectionDK[j][c];
        return y;
    }

    private static double[][] Rows(Tensor t)
    {
        using var cpu = t.detach().to(ScalarType.Float64).cpu().contiguous();
        var flat = cpu.data<double>().ToArray();
        int n = (int)t.shape[0], d = (int)t.shape[1];
        return [.. Enumerable.Range(0, n).Select(i => flat.AsSpan(i * d, d).ToArray())];
    }

    private static double Distance(double[] x, double[] y)
    {
        double sum = 0;
        for (int j = 0; j < x.Length; j++) sum += (x[j] - y[j]) * (x[j] - y[j]);
        return Math.Sqrt(sum);
    }
}
