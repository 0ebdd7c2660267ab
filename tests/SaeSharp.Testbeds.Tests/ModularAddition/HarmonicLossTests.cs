using SaeSharp.Testbeds.ModularAddition;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Tests.ModularAddition;

[Collection("Torch")]
public sealed class HarmonicLossTests
{
    /// <summary>
    /// L = −log p_y with p_i ∝ d_i^(−n): autograd's gradient with respect to the representations and the class vectors
    /// against central finite differences, and the representations' against the closed form
    /// ∂L/∂x = n·(x − w_y)/d_y² − n·Σ_j p_j (x − w_j)/d_j² (per row, divided by the batch size).
    /// </summary>
    [Fact]
    public void HarmonicLoss_Loss_GradientMatchesClosedFormAndFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        const double n = 3.5;
        var xBD = randn([3, 4], ScalarType.Float64, generator: generator).requires_grad_();
        var wCD = randn([5, 4], ScalarType.Float64, generator: generator).requires_grad_();
        var labels = tensor(new long[] { 4, 0, 2 });
        var loss = HarmonicLoss.Loss(xBD, wCD, labels, n);
        loss.backward();
        var gradX = xBD.grad!.data<double>().ToArray();
        var gradW = wCD.grad!.data<double>().ToArray();

        double Value(double[] x, double[] w)
        {
            using var inner = NewDisposeScope();
            return HarmonicLoss.Loss(tensor(x, [3, 4]), tensor(w, [5, 4]), labels, n).item<double>();
        }
        var x0 = xBD.detach().data<double>().ToArray();
        var w0 = wCD.detach().data<double>().ToArray();
        const double h = 1e-6;
        for (int i = 0; i < x0.Length; i++)
        {
            var plus = (double[])x0.Clone(); plus[i] += h;
            var minus = (double[])x0.Clone(); minus[i] -= h;
            Assert.Equal((Value(plus, w0) - Value(minus, w0)) / (2 * h), gradX[i], 6);
        }
        for (int i = 0; i < w0.Length; i++)
        {
            var plus = (double[])w0.Clone(); plus[i] += h;
            var minus = (double[])w0.Clone(); minus[i] -= h;
            Assert.Equal((Value(x0, plus) - Value(x0, minus)) / (2 * h), gradW[i], 6);
        }

        var labelArray = new[] { 4, 0, 2 };
        for (int b = 0; b < 3; b++)
        {
            var d2 = new double[5];
            for (int c = 0; c < 5; c++)
                for (int j = 0; j < 4; j++) d2[c] += Math.Pow(x0[b * 4 + j] - w0[c * 4 + j], 2);
            var weights = d2.Select(v => Math.Pow(v, -n / 2)).ToArray();
            var p = weights.Select(v => v / weights.Sum()).ToArray();
            for (int j = 0; j < 4; j++)
            {
                int y = labelArray[b];
                double expected = n * (x0[b * 4 + j] - w0[y * 4 + j]) / d2[y];
                for (int c = 0; c < 5; c++) expected -= n * p[c] * (x0[b * 4 + j] - w0[c * 4 + j]) / d2[c];
                Assert.Equal(expected / 3, gradX[b * 4 + j], 9);
            }
        }
    }

    [Fact]
    public void HarmonicLoss_Logits_LargestIsTheNearestClassVector()
    {
        using var scope = NewDisposeScope();
        var wCD = tensor(new double[] { 0, 0, 1, 0, 0, 1, -1, -1 }, [4, 2]);
        var xBD = tensor(new double[] { 0.9, 0.2, -0.8, -0.7, 0.1, 0.05, 0, 0.99 }, [4, 2]);
        var logits = HarmonicLoss.Logits(xBD, wCD, exponent: 2);
        Assert.Equal([1L, 3, 0, 2], logits.argmax(1).data<long>().ToArray());
        Assert.Throws<SaeSharpException>(() => HarmonicLoss.Logits(xBD, wCD, exponent: 0));
    }

    [Fact]
    public void ModAddConfig_Validate_UnknownLossOrStrayExponent_IsRefusedNamingTheField()
    {
        var unknown = Assert.Throws<SaeSharpException>(() => new ModAddConfig(Loss: (ModAddLoss)7).Validate());
        Assert.Equal(nameof(ModAddConfig.Loss), unknown.Field);
        Assert.Contains("Harmonic", unknown.Message);
        var stray = Assert.Throws<SaeSharpException>(() => new ModAddConfig(HarmonicExponent: 2).Validate());
        Assert.Equal(nameof(ModAddConfig.HarmonicExponent), stray.Field);
        Assert.Equal(128, new ModAddConfig(Loss: ModAddLoss.Harmonic).Validate().HarmonicExponentInEffect());
    }

    /// <summary>
    /// The loss joined the config after cross-entropy hosts were cached: their entry names (a hash of the config's JSON) must
    /// not change. The expected name is the SHA-256 of the JSON the config had before (modadd.json of a cached host with
    /// train_fraction 0.3).
    /// </summary>
    [Fact]
    public void ModAddCache_EntryName_CrossEntropyKeysUnchangedAndHarmonicDistinct()
    {
        Assert.Equal("modadd-p113-seed0", ModAddCache.EntryName(new ModAddConfig()));
        Assert.Equal("modadd-p113-seed0-521786cac9ba", ModAddCache.EntryName(new ModAddConfig(TrainFraction: 0.3)));
        var harmonic = ModAddCache.EntryName(new ModAddConfig(Loss: ModAddLoss.Harmonic));
        Assert.StartsWith("modadd-p113-seed0-", harmonic);
        Assert.NotEqual(harmonic, ModAddCache.EntryName(new ModAddConfig(Loss: ModAddLoss.Harmonic, HarmonicExponent: 2)));
    }

    [Fact]
    public void ModAddGeometry_Circle_EllipseScoresItsAnalyticCircularity()
    {
        // E_a = u·cos(2πfa/p) + r·v·sin(2πfa/p): z = ((1+r)/2)e^(iθ) + ((1−r)/2)e^(−iθ), circularity (1+r)²/(2(1+r²)).
        const int p = 23, f = 4;
        using var scope = NewDisposeScope();
        foreach (double r in new[] { 1.0, 0.3 })
        {
            var values = new double[p * 3];
            for (int a = 0; a < p; a++)
            {
                double theta = 2 * Math.PI * f * a / p;
                values[a * 3] = Math.Cos(theta) + 5;
                values[a * 3 + 2] = r * Math.Sin(theta);
            }
            var circle = ModAddGeometry.Circle(tensor(values, [p, 3]), p, f);
            Assert.Equal((1 + r) * (1 + r) / (2 * (1 + r * r)), circle.Circularity, 9);
            Assert.Equal(r, circle.AxisRatio, 9);
        }
    }
}
