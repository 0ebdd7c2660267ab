using SaeSharp.Testbeds.ModularAddition;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Tests.ModularAddition;

[Collection("Torch")]
public sealed class FourierTests
{
    private const int P = 23;

    private static double Omega(int k) => 2 * Math.PI * k / P;

    private static Tensor Grid(Func<int, int, double> f)
    {
        var values = new double[P * P];
        for (int a = 0; a < P; a++)
            for (int b = 0; b < P; b++)
                values[a * P + b] = f(a, b);
        return tensor(values, [P, P]);
    }

    [Fact]
    public void Basis_IsOrthonormal_AndHoldsCosinesAndSines()
    {
        using var basis = Fourier.Basis(P).to_type(ScalarType.Float64);
        using var gram = basis.matmul(basis.t());
        Assert.True(gram.allclose(eye(P, dtype: ScalarType.Float64), atol: 1e-6));
        // Row 2k-1 is proportional to cos(2πkx/p): check k = 4 at x = 5 directly.
        Assert.Equal(Math.Sqrt(2.0 / P) * Math.Cos(Omega(4) * 5), basis[7, 5].item<double>(), 6);
        Assert.Equal(Math.Sqrt(2.0 / P) * Math.Sin(Omega(4) * 5), basis[8, 5].item<double>(), 6);
        Assert.Equal("cos 4", Fourier.ComponentName(7));
        Assert.Equal("sin 4", Fourier.ComponentName(8));
    }

    [Fact]
    public void KeyFrequencies_EmbeddingOfKnownWaves_FindsThemAndTheirShare()
    {
        // Columns are waves at frequencies 2, 5 and 9 with random phases, plus small noise.
        using var g = new Generator(1);
        using var x = arange(P, dtype: ScalarType.Float64).unsqueeze(1);
        var columns = new List<Tensor>();
        foreach (int k in new[] { 2, 5, 9 })
            for (int j = 0; j < 4; j++)
            {
                double phase = rand(1, generator: g, dtype: ScalarType.Float64).item<double>() * 2 * Math.PI;
                columns.Add(x.mul(Omega(k)).add(phase).cos());
            }
        using var embedding = cat(columns, 1).add(randn(P, 12, generator: g, dtype: ScalarType.Float64).mul(0.02));
        var key = Fourier.KeyFrequencies(embedding);
        Assert.Equal([2, 5, 9], key.Frequencies);
        Assert.True(key.Explained > 0.99, $"explained {key.Explained}");
        Assert.Equal(1.0, key.NormFractions.Sum() + key.ConstantFraction, 6);
    }

    [Fact]
    public void ActivationKeyFrequencies_ActivationsOfKnownWaves_FindsTheirFrequenciesWhateverTheirForm()
    {
        // Columns over the p² inputs: a wave of a at 3, one of b at 3, cos(7(a+b)) (a product term), a wave of a
        // at 10, small noise, and a large constant offset that must not count.
        using var g = new Generator(2);
        var columns = new[]
        {
            Grid((a, b) => Math.Cos(Omega(3) * a + 0.4)), Grid((a, b) => Math.Sin(Omega(3) * b)),
            Grid((a, b) => Math.Cos(Omega(7) * (a + b))), Grid((a, b) => 0.8 * Math.Sin(Omega(10) * a + 1.0)),
        }.Select(f => f.reshape(P * P, 1)).ToList();
        columns.Add(full(P * P, 1, 5.0, dtype: ScalarType.Float64));
        using var activations = cat(columns, 1).add(randn(P * P, 5, generator: g, dtype: ScalarType.Float64).mul(0.01));
        var key = Fourier.ActivationKeyFrequencies(activations, P);
        Assert.Equal([3, 7, 10], key.Frequencies);
        Assert.True(key.Explained > 0.99, $"explained {key.Explained}");
        Assert.True(key.NormFractions.Sum() <= 1 + 1e-9);
        // Variances: frequency 3 has two columns of 1/2 each, 7 has 1/2, 10 has 0.32; the constant none.
        Assert.Equal(1.0 / (1.0 + 0.5 + 0.32), key.NormFractions[3 - 1], 2);
        Assert.Throws<SaeSharpException>(() => Fourier.ActivationKeyFrequencies(activations.narrow(0, 0, P), P));
    }

    [Fact]
    public void ComponentFractions_CosOfSum_SplitsIntoTwoProducts()
    {
        // cos(ω(a+b)) = cos ωa cos ωb − sin ωa sin ωb: half its energy in each product, nothing elsewhere.
        using var f = Grid((a, b) => Math.Cos(Omega(6) * (a + b)));
        var c = Fourier.ComponentFractions(f);
        Assert.Equal(0.5, c.CosACosB[5], 6);
        Assert.Equal(0.5, c.SinASinB[5], 6);
        Assert.Equal(1.0, c.Frequency(6), 6);
        Assert.Equal(1.0, c.Products(6), 6);
        Assert.Equal(0.0, c.Constant, 6);
        Assert.Equal(0.0, c.CrossFrequency, 6);
        var (frequency, share) = c.Dominant();
        Assert.Equal(6, frequency);
        Assert.Equal(1.0, share, 6);

        // Two frequencies: the larger wins with its own share.
        using var mixed = Grid((a, b) => Math.Cos(Omega(2) * a) + 2 * Math.Sin(Omega(9) * b));
        var (mixedFrequency, mixedShare) = Fourier.ComponentFractions(mixed).Dominant();
        Assert.Equal(9, mixedFrequency);
        Assert.Equal(0.8, mixedShare, 6);
    }

    [Fact]
    public void ComponentFractions_ConstantPlusWaveInA_MatchesAnalyticEnergies()
    {
        // f = 2 + cos(ω₃a): energy 4p² in the constant and p·p/2 in cos a₃.
        using var f = Grid((a, b) => 2 + Math.Cos(Omega(3) * a));
        var c = Fourier.ComponentFractions(f);
        Assert.Equal(4.0 / 4.5, c.Constant, 6);
        Assert.Equal(0.5 / 4.5, c.CosA[2], 6);
        Assert.Equal(4.5 * P * P, c.TotalEnergy, 6);
    }

    [Fact]
    public void ComponentFractions_CrossFrequencyProduct_IsPooled()
    {
        using var f = Grid((a, b) => Math.Cos(Omega(2) * a) * Math.Sin(Omega(7) * b));
        var c = Fourier.ComponentFractions(f);
        Assert.Equal(1.0, c.CrossFrequency, 6);
        Assert.Equal(0.0, Enumerable.Range(1, (P - 1) / 2).Sum(c.Frequency), 6);
    }

    [Fact]
    public void RestrictedAndExcludedLoss_OnLogitsBuiltFromKeyFrequencies()
    {
        // Logits of the ideal algorithm: Σ_k cos(ω_k(a+b−c)), which peak at c = a+b mod p.
        int[] key = [3, 8];
        var values = new float[P * P * P];
        for (int a = 0; a < P; a++)
            for (int b = 0; b < P; b++)
                for (int cls = 0; cls < P; cls++)
                    values[(a * P + b) * P + cls] = (float)(4 * key.Sum(k => Math.Cos(Omega(k) * (a + b - cls))));
        using var logits = tensor(values, [P * P, P]);
        using var labels = ModAddTask.AllLabels(P);
        using var all = arange(P * P, dtype: ScalarType.Int64);
        double full = nn.functional.cross_entropy(logits, labels).item<float>();

        // Everything lies along the key directions: keeping them changes nothing; removing them leaves chance.
        Assert.Equal(full, Fourier.RestrictedLoss(logits, labels, P, key), 4);
        Assert.Equal(Math.Log(P), Fourier.ExcludedLoss(logits, labels, all, P, key), 4);
        // Keeping an unrelated frequency instead loses all the signal.
        Assert.Equal(Math.Log(P), Fourier.RestrictedLoss(logits, labels, P, [5]), 4);
    }

    [Fact]
    public void Basis_EvenModulus_IsRefused() =>
        Assert.Throws<SaeSharpException>(() => Fourier.Basis(10));
}
