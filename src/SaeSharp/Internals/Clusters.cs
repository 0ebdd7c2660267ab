namespace SaeSharp.Internals;

/// <summary>Cluster-quality scores on points given as rows.</summary>
internal static class Clusters
{
    /// <summary>
    /// Mean silhouette (Rousseeuw 1987, Euclidean, as scikit-learn's <c>silhouette_score</c>): per point
    /// (b − a)/max(a, b) with a its mean distance to the rest of its cluster and b the least mean distance to another
    /// cluster; 0 for a point alone in its cluster. Needs at least 2 clusters.
    /// </summary>
    public static double Silhouette(double[][] points, int[] labels)
    {
        int n = points.Length;
        int[] clusters = [.. labels.Distinct().Order()];
        var size = clusters.ToDictionary(c => c, c => labels.Count(l => l == c));
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var sums = clusters.ToDictionary(c => c, _ => 0.0);
            for (int j = 0; j < n; j++)
                if (j != i) sums[labels[j]] += Distance(points[i], points[j]);
            if (size[labels[i]] == 1) continue;
            double a = sums[labels[i]] / (size[labels[i]] - 1);
            double b = clusters.Where(c => c != labels[i]).Min(c => sums[c] / size[c]);
            double denominator = Math.Max(a, b);
            total += denominator == 0 ? 0 : (b - a) / denominator;
        }
        return total / n;
    }

    private static double Distance(double[] x, double[] y)
    {
        double sum = 0;
        for (int j = 0; j < x.Length; j++) sum += (x[j] - y[j]) * (x[j] - y[j]);
        return Math.Sqrt(sum);
    }
}
