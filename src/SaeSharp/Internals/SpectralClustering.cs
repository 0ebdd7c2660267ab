using static TorchSharp.torch;

namespace SaeSharp.Internals;

/// <summary>
/// Spectral clustering of a precomputed affinity (Ng, Jordan and Weiss): the top k eigenvectors of
/// D^−½·A·D^−½ (A with a zero diagonal, D its row sums), each row scaled to unit length, clustered by k-means.
/// </summary>
internal static class SpectralClustering
{
    /// <summary>Cluster of each of the n points, 0 … k − 1.</summary>
    /// <param name="affinityNN">Symmetric non-negative affinity <c>[n, n]</c>.</param>
    /// <param name="k">Clusters; at most n.</param>
    /// <param name="seed">Seed of k-means.</param>
    public static int[] Cluster(Tensor affinityNN, int k, int seed)
    {
        using var scope = NewDisposeScope();
        var a = affinityNN.to(ScalarType.Float64).cpu().mul(eye(affinityNN.shape[0], dtype: ScalarType.Float64).logical_not());
        // An isolated point (no affinity to any other) gets degree 1 so that its row stays zero instead of NaN.
        var degree = a.sum(1);
        degree = degree.where(degree.gt(HeldScalars.Zero), ones_like(degree));
        var inverseRoot = degree.rsqrt();
        var normalised = a.mul(inverseRoot.unsqueeze(1)).mul(inverseRoot.unsqueeze(0));
        var (_, vectors) = Eigen.Top(normalised.add(normalised.t(), HeldScalars.One).div(HeldScalars.Two), k);
        var norms = vectors.norm(1, keepdim: true);
        var rows = vectors.div(norms.where(norms.gt(HeldScalars.Zero), ones_like(norms)));
        var flat = rows.contiguous().data<double>().ToArray();
        int n = (int)rows.shape[0];
        var points = new double[n][];
        for (int i = 0; i < n; i++) points[i] = flat.AsSpan(i * k, k).ToArray();
        return KMeans.Cluster(points, k, seed);
    }
}
