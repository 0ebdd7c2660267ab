using SaeSharp.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Analysis;

[Collection("Torch")]
public sealed class HelixFitTests
{
    /// <summary>
    /// Rows x = C·B(a) + noise for a = 0..199 (each twice), D = 12, periods 7 and 25 with a linear term: the fit with the
    /// true periods must reach the oracle R² (that of the true C on the held-out rows) within 0.02 and recover C, beat
    /// random periods by far, and PCA with the same parameter count cannot do much better than the truth.
    /// </summary>
    [Fact]
    public void HelixFit_Fit_PlantedHelixWithNoise_RecoversOracleR2AndCoefficients()
    {
        using var scope = NewDisposeScope();
        double[] periods = [7, 25];
        const int d = 12, numbers = 200;
        int k = HelixModel.BasisSize(periods.Length, includeLinear: true);
        using var generator = new Generator(5);
        var trueKD = randn([k, d], ScalarType.Float64, generator: generator);
        using (var linearScale = (1.0 / numbers).ToScalar())
            trueKD[1].mul_(linearScale); // the linear term spans about one unit over the range, like the waves
        var a = Enumerable.Range(0, 2 * numbers).Select(i => (double)(i % numbers)).ToArray();
        var signalND = HelixModel.Basis(tensor(a, ScalarType.Float64), periods, includeLinear: true).matmul(trueKD);
        using var noiseScale = 0.4.ToScalar();
        var noiseND = randn([a.Length, d], ScalarType.Float64, generator: generator).mul(noiseScale);
        var xND = signalND.add(noiseND, HeldScalars.One);

        var result = HelixFit.Fit(xND, a, periods, new HelixFitOptions { Seed = 3 });

        var truth = new HelixModel(periods, true, d, trueKD.contiguous().data<double>().ToArray());
        // The oracle: R² of the true helix on the scoring rows (the numbers the fit did not see).
        var fitNumbers = FitNumbers(result, a);
        var scoreRows = Enumerable.Range(0, a.Length).Where(i => !fitNumbers.Contains(a[i])).Select(i => (long)i).ToArray();
        Assert.Equal(result.ScoreRows, scoreRows.Length);
        var xScore = xND.index_select(0, tensor(scoreRows));
        var aScore = tensor(scoreRows.Select(i => a[i]).ToArray(), ScalarType.Float64);
        double variance = xScore.sub(xScore.mean([0L], keepdim: true)).pow(HeldScalars.Two).sum().item<double>();
        double oracle = 1 - xScore.sub(truth.Predict(aScore)).pow(HeldScalars.Two).sum().item<double>() / variance;

        Assert.InRange(oracle, 0.6, 0.95); // the noise is a real share of the variance
        Assert.InRange(result.R2Helix, oracle - 0.02, oracle + 0.02);
        Assert.Equal(k, result.BasisRank);
        Assert.Equal(k - 1, result.PcaComponents);
        var fittedKD = tensor(result.Model.Coefficients.ToArray(), [k, d], ScalarType.Float64);
        Assert.True(fittedKD.sub(trueKD).abs().max().item<double>() < 0.25, "coefficients not recovered");
        Assert.True(result.R2Helix > 0.9 * result.R2PcaSameParams, $"helix {result.R2Helix} vs PCA {result.R2PcaSameParams}");
        Assert.True(result.R2Helix > 2 * result.R2RandomPeriods && result.R2RandomPeriods < 0.5 * oracle, $"random periods {result.R2RandomPeriods}");
        Assert.True(result.R2LinearOnly < 0.2, $"linear only {result.R2LinearOnly}");
        Assert.Equal(10, result.RandomPeriodR2s.Count);
    }

    /// <summary>The numbers whose rows fitted: those not held out (every row of a number is on one side).</summary>
    private static HashSet<double> FitNumbers(HelixFitResult result, double[] a)
    {
        // Re-derive the split the way the API documents it: the same seeded shuffle of the sorted distinct numbers.
        var distinct = a.Distinct().Order().ToArray();
        int test = Math.Max(1, (int)Math.Round(0.2 * distinct.Length));
        var shuffled = distinct.ToArray();
        new Random(3).Shuffle(shuffled);
        Assert.Equal(result.ScoreNumbers, test);
        return [.. shuffled.Skip(test)];
    }

    [Fact]
    public void HelixFit_Fit_PeriodTwoOnIntegers_DropsTheVanishingSineFromTheRank()
    {
        using var scope = NewDisposeScope();
        var a = Enumerable.Range(0, 60).Select(i => (double)i).ToArray();
        var xND = HelixModel.Basis(tensor(a, ScalarType.Float64), [2.0, 10.0], includeLinear: true).matmul(ones([6, 3], ScalarType.Float64));
        var result = HelixFit.Fit(xND, a, [2.0, 10.0], new HelixFitOptions { RandomPeriodTrials = 2 });
        Assert.Equal(6, result.BasisSize);
        Assert.Equal(5, result.BasisRank); // sin(πa) = 0 on integers
        Assert.Equal(4, result.PcaComponents);
        Assert.InRange(result.R2Helix, 1 - 1e-9, 1 + 1e-9);
    }

    [Fact]
    public void HelixFit_Fit_TooFewNumbers_ThrowsNamingHowManyAreNeeded()
    {
        using var scope = NewDisposeScope();
        var a = Enumerable.Range(0, 8).Select(i => (double)i).ToArray();
        var xND = randn([8, 4], ScalarType.Float64);
        var e = Assert.Throws<SaeSharpException>(() => HelixFit.Fit(xND, a, [3.0, 5.0, 7.0]));
        Assert.Contains("too few numbers", e.Message);
        Assert.Contains("at least 10", e.Message);
        Assert.Throws<SaeSharpException>(() => HelixFit.Fit(xND, a.Take(7).ToArray(), [3.0]));
        Assert.Throws<SaeSharpException>(() => HelixFit.Fit(xND, a, [-1.0]));
    }
}
