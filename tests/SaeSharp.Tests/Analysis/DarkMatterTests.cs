using MathNet.Numerics.LinearAlgebra;
using SaeSharp.Analysis;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Analysis;

[Collection("Torch")]
public sealed class DarkMatterTests(ITestOutputHelper output)
{
    /// <summary>
    /// Planted dark matter (derivation in docs/analysis.md): x = Q·[s; g] with s sparse and non-negative in D − 1
    /// coordinates and g ~ N(0, 1) in the last; the ReLU SAE with encoder Qᵀ and decoder Q reconstructs s exactly and
    /// only the positive half of g, so e = Q·[0; min(g, 0)]. Its linear predictability from x is known in closed form.
    /// </summary>
    [Fact]
    public void DarkMatter_Analyze_PlantedReluShadow_RecoversAnalyticFractions()
    {
        const int d = 16, rows = 60_000;
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        var (q, _) = linalg.qr(randn(d, d, dtype: ScalarType.Float64, generator: generator));
        using var density = 0.15.ToScalar();
        var sparse = rand(rows, d - 1, generator: generator).lt(density).to(ScalarType.Float64)
            .mul(rand(rows, d - 1, dtype: ScalarType.Float64, generator: generator));
        var latent = cat([sparse, randn(rows, 1, dtype: ScalarType.Float64, generator: generator)], 1);
        var x = latent.matmul(q.t()).to(ScalarType.Float32);
        using var sae = Sae.Create(new SaeConfig(d, d, new ReluArchitecture()), seed: 1);
        using (no_grad())
        {
            var qf = q.to(ScalarType.Float32);
            sae.EncoderWeightLD.copy_(qf.t());
            sae.DecoderWeightLD.copy_(qf.t());
            sae.EncoderBiasL.zero_();
            sae.DecoderBiasD.zero_();
        }

        var result = DarkMatter.Analyze(sae, x);

        // g ~ N(0,1), m = min(g, 0): Cov(m, g) = 1/2, Var m = 1/2 − 1/(2π); ‖e‖² = m²: Cov(m², g) = −√(2/π), Var m² = 5/4.
        double linear = 0.25 / (0.5 - 1 / (2 * Math.PI));
        double norm = 2 / Math.PI / 1.25;
        double nonlinear = 0.5 - 1 / Math.PI;
        output.WriteLine($"measured {result}; analytic linear {linear:F4} norm {norm:F4} nonlinear {nonlinear:F4}");
        Assert.Equal(rows / 2, result.FitRows);
        Assert.InRange(result.LinearErrorR2, linear - 0.02, linear + 0.02);
        Assert.InRange(result.NormR2, norm - 0.02, norm + 0.02);
        Assert.InRange(result.NonlinearFraction, nonlinear - 0.02, nonlinear + 0.02);
        Assert.Equal(result.Fvu * result.NonlinearFraction, result.FvuWithLinear, 1e-9);
    }

    /// <summary>
    /// The API (centred lstsq in torch) against an independent float64 computation: MathNet's QR solve of the
    /// uncentred design [x, 1] on the first half, scored on the second.
    /// </summary>
    [Fact]
    public void DarkMatter_Analyze_RandomTopK_MatchesMathNetQrReference()
    {
        const int d = 12, rows = 3000;
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        // Columns of different scales and a non-zero mean, so that the intercept and the conditioning matter.
        var x = randn(rows, d, generator: generator).mul(rand(1, d, generator: generator).add(HeldScalars.Half, HeldScalars.One)).add(HeldScalars.One, HeldScalars.One);
        using var sae = Sae.Create(new SaeConfig(d, 32, new TopKArchitecture(3)), seed: 3);

        var result = DarkMatter.Analyze(sae, x);
        var reference = Reference(sae, x);

        Assert.Equal(reference.LinearErrorR2, result.LinearErrorR2, 1e-6);
        Assert.Equal(reference.NormR2, result.NormR2, 1e-6);
        Assert.Equal(reference.NonlinearFraction, result.NonlinearFraction, 1e-6);
        Assert.Equal(reference.Fvu, result.Fvu, 1e-6);
        Assert.Equal(reference.FvuWithLinear, result.FvuWithLinear, 1e-6);
        Assert.InRange(result.LinearErrorR2, 0.05, 0.999);
    }

    /// <summary>
    /// Against numpy: tests/fixtures/analysis/dark_matter_numpy.py (Debian python3-numpy, np.linalg.lstsq on [x, 1]) wrote
    /// rows and its five numbers for the identity ReLU SAE, whose error is min(x, 0).
    /// </summary>
    [Fact]
    public void DarkMatter_Analyze_IdentityRelu_MatchesNumpyFixture()
    {
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(SaeSharp.Testing.RepositoryPaths.Fixture("analysis", "dark-matter-numpy.json")));
        var root = document.RootElement;
        int rows = root.GetProperty("rows").GetInt32(), d = root.GetProperty("d").GetInt32();
        float[] values = [.. root.GetProperty("x").EnumerateArray().Select(v => (float)v.GetDouble())];
        using var x = tensor(values, [rows, d]);
        using var sae = Sae.Create(new SaeConfig(d, d, new ReluArchitecture()), seed: 1);
        using (no_grad())
        {
            using var identity = eye(d);
            sae.EncoderWeightLD.copy_(identity);
            sae.DecoderWeightLD.copy_(identity);
            sae.EncoderBiasL.zero_();
            sae.DecoderBiasD.zero_();
        }

        var result = DarkMatter.Analyze(sae, x);

        var expected = root.GetProperty("expected");
        Assert.Equal(expected.GetProperty("linear_error_r2").GetDouble(), result.LinearErrorR2, 1e-6);
        Assert.Equal(expected.GetProperty("norm_r2").GetDouble(), result.NormR2, 1e-6);
        Assert.Equal(expected.GetProperty("nonlinear_fraction").GetDouble(), result.NonlinearFraction, 1e-6);
        Assert.Equal(expected.GetProperty("fvu").GetDouble(), result.Fvu, 1e-6);
        Assert.Equal(expected.GetProperty("fvu_with_linear").GetDouble(), result.FvuWithLinear, 1e-6);
    }

    [Fact]
    public void DarkMatter_Analyze_TooFewRows_Throws()
    {
        using var x = randn(20, 12);
        using var sae = Sae.Create(new SaeConfig(12, 32, new TopKArchitecture(3)), seed: 3);
        var error = Assert.Throws<SaeSharpException>(() => DarkMatter.Analyze(sae, x));
        Assert.Contains("too few", error.Message);
        Assert.Equal("rows", error.Field);
    }

    [Fact]
    public void DarkMatter_Analyze_DuplicatedDimension_ThrowsRankDeficient()
    {
        using var scope = NewDisposeScope();
        var x = randn(400, 8);
        x[TensorIndex.Colon, 7] = x[TensorIndex.Colon, 2];
        using var sae = Sae.Create(new SaeConfig(8, 16, new TopKArchitecture(2)), seed: 3);
        var error = Assert.Throws<SaeSharpException>(() => DarkMatter.Analyze(sae, x));
        Assert.Contains("rank-deficient", error.Message);
        Assert.Contains("rank 7 of 8", error.Message);
    }

    private static DarkMatterResult Reference(Sae sae, Tensor x)
    {
        int n = (int)x.shape[0], d = (int)x.shape[1], fit = n / 2;
        float[] xs, recon;
        using (no_grad())
        {
            sae.eval();
            xs = x.data<float>().ToArray();
            recon = sae.Decode(sae.Encode(x)).data<float>().ToArray();
        }
        var design = Matrix<double>.Build.Dense(n, d + 1, (i, j) => j == d ? 1.0 : xs[i * d + j]);
        var errors = Matrix<double>.Build.Dense(n, d, (i, j) => (double)xs[i * d + j] - recon[i * d + j]);
        var norms = Matrix<double>.Build.Dense(n, 1, (i, _) => errors.Row(i).DotProduct(errors.Row(i)));
        var fitDesign = design.SubMatrix(0, fit, 0, d + 1);
        var scoreDesign = design.SubMatrix(fit, n - fit, 0, d + 1);
        var qr = fitDesign.QR();
        var eScore = errors.SubMatrix(fit, n - fit, 0, d);
        var nScore = norms.SubMatrix(fit, n - fit, 0, 1);
        var eHat = scoreDesign * qr.Solve(errors.SubMatrix(0, fit, 0, d));
        var nHat = scoreDesign * qr.Solve(norms.SubMatrix(0, fit, 0, 1));
        var xScore = design.SubMatrix(fit, n - fit, 0, d);

        double residual = (eScore - eHat).PointwisePower(2).Enumerate().Sum();
        double squares = eScore.PointwisePower(2).Enumerate().Sum();
        double normResidual = (nScore - nHat).PointwisePower(2).Enumerate().Sum();
        return new DarkMatterResult(fit, n - fit,
            1 - residual / CentredSquares(eScore), 1 - normResidual / CentredSquares(nScore),
            residual / squares, squares / CentredSquares(xScore), residual / CentredSquares(xScore));
    }

    private static double CentredSquares(Matrix<double> m) =>
        m.EnumerateColumns().Sum(column => { double mean = column.Average(); return column.Sum(v => (v - mean) * (v - mean)); });
}
