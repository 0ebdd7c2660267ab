using MathNet.Numerics;
using MathNet.Numerics.Distributions;
using SaeSharp.Internals;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// Galaxy-scale geometry of a dictionary after Li, Michaud, Baek, Engels, Sun and Tegmark ("The Geometry of Concepts:
/// Sparse Autoencoder Feature Structure", 2024): the eigenvalue spectrum of the decoder rows' covariance, fitted as a
/// power law λ_r ∝ r^−α over a middle range of ranks r, and the clustering entropy of the rows, each beside the same
/// number for an isotropic Gaussian cloud of the same size.
/// </summary>
/// <remarks>
/// Everything runs in float64: the covariance's eigenvalues through <c>torch.linalg.eigvalsh</c>, the slope by
/// ordinary least squares of log λ on log r with a Student-t interval, the entropy as the Gaussian entropy
/// ½·Σ log(2πe·λ_i) of the standardised, PCA-projected rows minus the Kozachenko–Leonenko nearest-neighbour estimate
/// ψ(N) − ψ(1) + log V_d + (d/N)·Σ log ε_i. Memory: the rows in float64 plus one 1024-row block of distances.
/// </remarks>
public static class GalaxyGeometry
{
    /// <summary>Measures a point cloud, e.g. an SAE's decoder rows <see cref="Sae.DecoderWeights"/>.</summary>
    /// <param name="pointsLD">Points <c>[L, D]</c>, one per row (any floating dtype or device).</param>
    /// <param name="options">Rank range and entropy settings; null takes the defaults.</param>
    /// <exception cref="SaeSharpException">
    /// Not a finite floating matrix; too few rows or columns for the rank range (its last rank must be at most D and at
    /// most L − 1); a covariance whose eigenvalues in the range are zero (rank-deficient: constant or dependent
    /// columns, duplicated rows); duplicated rows (the nearest-neighbour entropy needs distinct points).
    /// </exception>
    public static GalaxyResult Analyze(Tensor pointsLD, GalaxyOptions? options = null)
    {
        options = (options ?? new GalaxyOptions()).Validate();
        if (pointsLD.dim() != 2 || !pointsLD.is_floating_point())
            throw new SaeSharpException($"expected a floating [L, D] matrix of points, got {pointsLD.dtype} [{string.Join(", ", pointsLD.shape)}]", field: "points");
        int l = (int)pointsLD.shape[0], d = (int)pointsLD.shape[1];
        int possibleRank = Math.Min(d, l - 1);
        int first = options.FirstRank ?? Math.Min(10, Math.Max(2, (int)Math.Round(possibleRank / 20.0)));
        int last = options.LastRank ?? Math.Min(150, possibleRank / 2);
        if (last < first + 2 || last > possibleRank)
            throw new SaeSharpException(
                $"{l} points of width {d} are too few for the rank range [{first}, {last}]: the covariance has at most min(D, L − 1) = {possibleRank} non-zero eigenvalues and the fit needs at least 3 ranks within them" +
                (options.LastRank is null ? "; pass more points or a wider dictionary" : "; choose a range within that rank"),
                field: "points");

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var xLD = pointsLD.detach().to(ScalarType.Float64).cpu();
        if (!xLD.isfinite().all().item<bool>()) throw new SaeSharpException("points are not finite (NaN or ±∞)", field: "points");
        using var generator = new Generator((ulong)options.Seed);
        var isotropicLD = randn(l, d, dtype: ScalarType.Float64, generator: generator);

        var eigenvalues = CovarianceEigenvalues(xLD);
        CheckRange(eigenvalues, first, last);
        var (alpha, low, high, intercept) = FitPowerLaw(eigenvalues, first, last, options.Confidence);
        var (isotropicAlpha, _, _, _) = FitPowerLaw(CovarianceEigenvalues(isotropicLD), first, last, options.Confidence);
        int entropyDims = Math.Min(options.EntropyDimensions, possibleRank);
        double entropy = ClusteringEntropy(xLD, entropyDims);
        double isotropicEntropy = ClusteringEntropy(isotropicLD, entropyDims);
        return new GalaxyResult(l, d, eigenvalues, first, last, alpha, low, high, intercept, isotropicAlpha, entropy, isotropicEntropy, entropyDims);
    }

    /// <summary>
    /// α, its interval and the intercept of the least-squares line log λ_r = c − α·log r over ranks
    /// [<paramref name="first"/>, <paramref name="last"/>] (1-based) of <paramref name="descending"/>.
    /// </summary>
    internal static (double Alpha, double Low, double High, double Intercept) FitPowerLaw(double[] descending, int first, int last, double confidence)
    {
        int n = last - first + 1;
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = Math.Log(first + i);
            y[i] = Math.Log(descending[first + i - 1]);
        }
        double meanX = x.Average(), meanY = y.Average(), sxx = 0, sxy = 0;
        for (int i = 0; i < n; i++)
        {
            sxx += (x[i] - meanX) * (x[i] - meanX);
            sxy += (x[i] - meanX) * (y[i] - meanY);
        }
        double slope = sxy / sxx, intercept = meanY - slope * meanX, residual = 0;
        for (int i = 0; i < n; i++)
        {
            double r = y[i] - intercept - slope * x[i];
            residual += r * r;
        }
        double standardError = Math.Sqrt(residual / (n - 2) / sxx);
        double t = StudentT.InvCDF(0, 1, n - 2, 0.5 + confidence / 2);
        return (-slope, -slope - t * standardError, -slope + t * standardError, intercept);
    }

    private static double[] CovarianceEigenvalues(Tensor xLD)
    {
        using var scope = NewDisposeScope();
        var centred = xLD.sub(xLD.mean([0L], keepdim: true));
        using var denominator = (xLD.shape[0] - 1.0).ToScalar();
        return Eigen.ValuesDescending(centred.t().matmul(centred).div(denominator));
    }

    private static void CheckRange(double[] descending, int first, int last)
    {
        // Relative to the largest eigenvalue, as numpy's matrix_rank: below it an eigenvalue is rounding noise.
        double tolerance = Math.Max(descending[0], 0) * descending.Length * 1e-12;
        int rank = descending.Count(v => v > tolerance);
        if (descending[0] <= 0 || rank < last)
            throw new SaeSharpException(
                $"the points' covariance is rank-deficient: rank {rank} of {descending.Length}, but the rank range [{first}, {last}] needs {last} non-zero eigenvalues (constant or linearly dependent columns, or too few distinct points)",
                field: "points");
    }

    // Standardise each column, project onto the top principal components, and compare the Gaussian entropy of that
    // covariance with the nearest-neighbour estimate; both are in the same coordinates, so the scale cancels.
    private static double ClusteringEntropy(Tensor xLD, int dims)
    {
        using var scope = NewDisposeScope();
        long n = xLD.shape[0];
        var centred = xLD.sub(xLD.mean([0L], keepdim: true));
        var std = centred.std(0L, keepdim: true);
        if (std.min().item<double>() <= 0)
            throw new SaeSharpException("a column of the points is constant, so the rows cannot be standardised (rank-deficient)", field: "points");
        var z = centred.div(std);
        using var denominator = (n - 1.0).ToScalar();
        var (values, vectors) = Eigen.Top(z.t().matmul(z).div(denominator), dims);
        if (values[^1] <= values[0] * 1e-12)
            throw new SaeSharpException($"the standardised points span fewer than {dims} dimensions (rank-deficient)", field: "points");
        var yND = z.matmul(vectors);
        double gaussian = 0.5 * dims * (1 + Math.Log(2 * Math.PI)) + 0.5 * values.Sum(Math.Log);

        var squaredNorms = yND.pow(HeldScalars.Two).sum(1);
        double sumLogDistance = 0;
        for (long start = 0; start < n; start += 1024)
        {
            using var blockScope = NewDisposeScope();
            long length = Math.Min(1024, n - start);
            // ‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b: the minimum over b needs only ‖b‖² − 2a·b, one fused matrix product
            // (cdist's float64 path is several times slower); ‖a‖² is added to the block's minima alone.
            var block = yND.narrow(0, start, length);
            var partial = addmm(squaredNorms.unsqueeze(0), block, yND.t(), beta: 1, alpha: -2);
            // Each point's distance to itself is excluded by setting that entry to +∞.
            using var rowStride = n.ToScalar();
            var self = arange(0, length, dtype: ScalarType.Int64).mul(rowStride).add(arange(start, start + length, dtype: ScalarType.Int64), HeldScalars.One);
            using var infinity = double.PositiveInfinity.ToScalar();
            partial.view(-1).index_fill_(0, self, infinity);
            // The expanded form only picks the neighbour; its distance is taken directly, free of the form's rounding.
            var neighbour = partial.argmin(1);
            var nearest = block.sub(yND.index_select(0, neighbour)).norm(1);
            if (nearest.min().item<double>() <= 0)
                throw new SaeSharpException("two points coincide; the nearest-neighbour entropy needs distinct points", field: "points");
            sumLogDistance += nearest.log().sum().item<double>();
        }
        double logUnitBall = dims / 2.0 * Math.Log(Math.PI) - SpecialFunctions.GammaLn(dims / 2.0 + 1);
        double nearestNeighbour = SpecialFunctions.DiGamma(n) - SpecialFunctions.DiGamma(1) + logUnitBall + dims * sumLogDistance / n;
        return gaussian - nearestNeighbour;
    }
}
