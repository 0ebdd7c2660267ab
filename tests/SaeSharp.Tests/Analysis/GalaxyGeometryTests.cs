using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra;
using SaeSharp.Analysis;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Analysis;

[Collection("Torch")]
public sealed class GalaxyGeometryTests(ITestOutputHelper output)
{
    /// <summary>
    /// Rows drawn from a Gaussian whose covariance has eigenvalues r^−α (α = 1.2) in a random orthogonal basis: the
    /// sample covariance's spectrum follows the same law up to sampling noise of order √(2/L), so the fit gives α back.
    /// A Gaussian cloud has no clusters, so its clustering entropy is the estimator's bias, as the isotropic cloud's is.
    /// </summary>
    [Fact]
    public void GalaxyGeometry_Analyze_PlantedPowerLaw_RecoversExponent()
    {
        const int l = 5000, d = 48;
        const double alpha = 1.2;
        using var scope = NewDisposeScope();
        var points = PowerLawCloud(l, d, alpha, seed: 3);

        var result = GalaxyGeometry.Analyze(points, new GalaxyOptions { FirstRank = 4, LastRank = 24, EntropyDimensions = 16 });
        output.WriteLine($"alpha {result.PowerLawAlpha:F4} [{result.AlphaLow:F4}, {result.AlphaHigh:F4}] isotropic {result.IsotropicAlpha:F4}; " +
            $"entropy {result.ClusteringEntropy:F4} isotropic {result.IsotropicClusteringEntropy:F4}");

        Assert.InRange(result.PowerLawAlpha, alpha - 0.02, alpha + 0.02);
        Assert.True(result.AlphaLow < result.PowerLawAlpha && result.PowerLawAlpha < result.AlphaHigh);
        Assert.InRange(result.IsotropicAlpha, -0.05, 0.1);
        Assert.Equal(d, result.Eigenvalues.Count);
        Assert.True(result.Eigenvalues.Zip(result.Eigenvalues.Skip(1)).All(p => p.First >= p.Second), "eigenvalues are sorted descending");
        // The nearest-neighbour estimator's bias grows with anisotropy, so a Gaussian cloud sits near, not at, the
        // isotropic value (measured: 0.25 nats apart); a clustered cloud is tens of nats away (the next test).
        Assert.InRange(result.ClusteringEntropy - result.IsotropicClusteringEntropy, -0.5, 0.5);
    }

    /// <summary>The slope against an independent float64 path: MathNet's covariance, symmetric EVD and line fit.</summary>
    [Fact]
    public void GalaxyGeometry_Analyze_RandomCloud_MatchesMathNetReference()
    {
        const int l = 300, d = 40;
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var points = randn(l, d, generator: generator).mul(rand(1, d, generator: generator).add(HeldScalars.Half, HeldScalars.One))
            .add(HeldScalars.Three, HeldScalars.One);

        var result = GalaxyGeometry.Analyze(points, new GalaxyOptions { FirstRank = 3, LastRank = 30 });

        var flat = points.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        var x = Matrix<double>.Build.Dense(l, d, (i, j) => flat[i * d + j]);
        var mean = x.ColumnSums() / l;
        var centred = x - Matrix<double>.Build.Dense(l, d, (_, j) => mean[j]);
        var covariance = centred.TransposeThisAndMultiply(centred) / (l - 1);
        var eigenvalues = covariance.Evd(Symmetricity.Symmetric).EigenValues.Select(c => c.Real).OrderDescending().ToArray();
        var ranks = Enumerable.Range(3, 28).ToArray();
        var (intercept, slope) = Fit.Line([.. ranks.Select(r => Math.Log(r))], [.. ranks.Select(r => Math.Log(eigenvalues[r - 1]))]);

        Assert.Equal(-slope, result.PowerLawAlpha, 1e-9);
        Assert.Equal(intercept, result.LogIntercept, 1e-9);
        for (int i = 0; i < d; i++) Assert.Equal(eigenvalues[i], result.Eigenvalues[i], 1e-9 * eigenvalues[0]);
        Assert.Equal((3, 30), (result.FirstRank, result.LastRank));
    }

    /// <summary>Points in tight, well separated clusters have far less entropy than the Gaussian of their covariance.</summary>
    /// <summary>
    /// Against numpy: tests/fixtures/analysis/galaxy_numpy.py (Debian python3-numpy: np.cov, np.linalg.eigvalsh,
    /// np.polyfit) wrote 200 points of width 24 with a planted spectrum, and its eigenvalues and power-law fit over
    /// ranks 3 to 12. The test reads only the committed JSON, so it needs no Python.
    /// </summary>
    [Fact]
    public void GalaxyGeometry_Analyze_PlantedCloud_MatchesNumpyFixture()
    {
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(SaeSharp.Testing.RepositoryPaths.Fixture("analysis", "galaxy-numpy.json")));
        var root = document.RootElement;
        int rows = root.GetProperty("rows").GetInt32(), d = root.GetProperty("d").GetInt32();
        float[] values = [.. root.GetProperty("points").EnumerateArray().Select(v => (float)v.GetDouble())];
        using var points = tensor(values, [rows, d]);

        var result = GalaxyGeometry.Analyze(points, new GalaxyOptions
        {
            FirstRank = root.GetProperty("first_rank").GetInt32(), LastRank = root.GetProperty("last_rank").GetInt32(),
        });

        var expected = root.GetProperty("expected");
        double[] eigenvalues = [.. expected.GetProperty("eigenvalues").EnumerateArray().Select(v => v.GetDouble())];
        output.WriteLine($"alpha {result.PowerLawAlpha:F6} (numpy {expected.GetProperty("alpha").GetDouble():F6})");
        Assert.Equal(eigenvalues.Length, result.Eigenvalues.Count);
        for (int i = 0; i < eigenvalues.Length; i++)
            Assert.Equal(eigenvalues[i], result.Eigenvalues[i], eigenvalues[0] * 1e-9);
        Assert.Equal(expected.GetProperty("alpha").GetDouble(), result.PowerLawAlpha, 1e-8);
        Assert.Equal(expected.GetProperty("intercept").GetDouble(), result.LogIntercept, 1e-8);
        Assert.InRange(expected.GetProperty("alpha").GetDouble(), result.AlphaLow, result.AlphaHigh);
    }

    [Fact]
    public void GalaxyGeometry_Analyze_ClusteredCloud_EntropyAboveIsotropic()
    {
        const int l = 2000, d = 16, clusters = 8;
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        using var spread = 0.05.ToScalar();
        var centres = randn(clusters, d, generator: generator);
        var which = randint(0, clusters, [l], generator: generator);
        var points = centres.index_select(0, which).add(randn(l, d, generator: generator).mul(spread), HeldScalars.One);

        var result = GalaxyGeometry.Analyze(points, new GalaxyOptions { FirstRank = 2, LastRank = 7 });
        output.WriteLine($"entropy {result.ClusteringEntropy:F3} isotropic {result.IsotropicClusteringEntropy:F3}");

        Assert.True(result.ClusteringEntropy > result.IsotropicClusteringEntropy + 5, "clusters lower the kNN entropy far below the Gaussian's");
    }

    [Fact]
    public void GalaxyGeometry_Analyze_TooFewPoints_ThrowsNamingRange()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(1);
        var error = Assert.Throws<SaeSharpException>(() => GalaxyGeometry.Analyze(randn(12, 64, generator: generator), new GalaxyOptions { FirstRank = 10, LastRank = 150 }));
        Assert.Contains("too few for the rank range [10, 150]", error.Message);
        Assert.Contains("min(D, L − 1) = 11", error.Message);
    }

    [Fact]
    public void GalaxyGeometry_Analyze_RankDeficient_Throws()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(2);
        // 500 points of width 32 that span only 6 dimensions.
        var points = randn(500, 6, dtype: ScalarType.Float64, generator: generator).matmul(randn(6, 32, dtype: ScalarType.Float64, generator: generator));
        var error = Assert.Throws<SaeSharpException>(() => GalaxyGeometry.Analyze(points, new GalaxyOptions { FirstRank = 2, LastRank = 12 }));
        Assert.Contains("rank-deficient: rank 6 of 32", error.Message);
    }

    [Fact]
    public void GalaxyGeometry_Analyze_DuplicatedPoints_Throws()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(4);
        var half = randn(200, 8, generator: generator);
        var error = Assert.Throws<SaeSharpException>(() => GalaxyGeometry.Analyze(cat([half, half], 0), new GalaxyOptions { FirstRank = 1, LastRank = 4 }));
        Assert.Contains("coincide", error.Message);
    }

    private static Tensor PowerLawCloud(int l, int d, double alpha, long seed)
    {
        using var generator = new Generator((ulong)seed);
        var (q, _) = linalg.qr(randn(d, d, dtype: ScalarType.Float64, generator: generator));
        var scales = tensor(Enumerable.Range(1, d).Select(r => Math.Pow(r, -alpha / 2)).ToArray());
        return randn(l, d, dtype: ScalarType.Float64, generator: generator).mul(scales.unsqueeze(0)).matmul(q.t());
    }
}
