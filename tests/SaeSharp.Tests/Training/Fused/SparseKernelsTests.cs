using SaeSharp.Internals;
using SaeSharp.Training;
using SaeSharp.Training.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>The vectorised, parallel kernels against their plain scalar twins.</summary>
[Collection("Torch")]
public sealed unsafe class SparseKernelsTests
{
    [Theory]
    [InlineData(37, 203, 7)]
    [InlineData(64, 1024, 32)]
    [InlineData(5, 9, 9)]
    public void TopKPerRow_RandomRows_MatchesFullSort(int rows, int latents, int k)
    {
        var random = new Random(rows * latents + k);
        var pre = Enumerable.Range(0, rows * latents).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        var bias = Enumerable.Range(0, latents).Select(_ => (float)random.NextDouble() * 0.2f).ToArray();
        var selection = new SparseSelection<float>();
        fixed (float* p = pre) fixed (float* b = bias) TopKKernels.TopKPerRow(p, b, rows, latents, k, selection);
        var (expectedLatent, expectedValue) = ScalarKernels.TopKPerRow(pre, bias, rows, latents, k);
        Assert.Equal(expectedLatent, selection.Latent.Take(rows * k));
        Assert.Equal(expectedValue, selection.Value.Take(rows * k));
        Assert.False(selection.NonFinite);
    }

    [Fact]
    public void TopKPerRow_RowWithNaN_FlagsNonFinite()
    {
        var pre = new float[] { 1, float.NaN, float.NaN, float.NaN, 2, 3, 4, 5 };
        var bias = new float[4];
        var selection = new SparseSelection<float>();
        fixed (float* p = pre) fixed (float* b = bias) TopKKernels.TopKPerRow(p, b, 2, 4, 2, selection);
        Assert.True(selection.NonFinite);
        Assert.Equal(new[] { 3, 2 }, selection.Latent.Skip(2).Take(2));
    }

    [Fact]
    public void BatchTopK_NaNInBatch_FlagsNonFinite()
    {
        var pre = Enumerable.Range(0, 4 * 40).Select(i => i == 77 ? float.NaN : i % 5 - 1f).ToArray();
        var selection = new SparseSelection<float>();
        fixed (float* p = pre) fixed (float* b = new float[40]) TopKKernels.BatchTopK(p, b, 4, 40, 8, selection);
        Assert.True(selection.NonFinite);
        Assert.Equal(8, selection.Count);
    }

    [Fact]
    public void TopKPerRowAmong_Candidates_MatchesFullSortOverCandidates()
    {
        const int rows = 21, latents = 150, k = 6;
        var random = new Random(3);
        var pre = Enumerable.Range(0, rows * latents).Select(_ => random.NextDouble() - 0.5).ToArray();
        var bias = new double[latents];
        var candidates = Enumerable.Range(0, latents).Where(i => i % 7 == 2 || i % 11 == 0).ToArray();
        var selection = new SparseSelection<double>();
        fixed (double* p = pre) fixed (double* b = bias) TopKKernels.TopKPerRowAmong(p, b, rows, latents, candidates, k, selection);
        var masked = pre.Select((v, i) => candidates.Contains(i % latents) ? v : double.NegativeInfinity).ToArray();
        var (expectedLatent, expectedValue) = ScalarKernels.TopKPerRow(masked, bias, rows, latents, k);
        // The AuxK selection lists each row's picks in candidate order; the full sort lists them by value.
        for (int b = 0; b < rows; b++)
        {
            var expected = Enumerable.Range(b * k, k).Select(i => (expectedLatent[i], expectedValue[i])).OrderBy(e => e.Item1);
            var actual = Enumerable.Range(b * k, k).Select(i => (selection.Latent[i], selection.Value[i]));
            Assert.Equal(expected, actual);
        }
        // Sorted as the SAE's step asks for them: the full sort's order exactly.
        var sorted = new SparseSelection<double>();
        fixed (double* p = pre) fixed (double* b = bias) TopKKernels.TopKPerRowAmong(p, b, rows, latents, candidates, k, sorted, descending: true);
        Assert.Equal(expectedLatent, sorted.Latent.Take(rows * k));
        Assert.Equal(expectedValue, sorted.Value.Take(rows * k));
    }

    [Theory]
    [InlineData(50, 300, 4, 0.0)]    // plenty of positives: a true batch-wide cut
    [InlineData(40, 64, 8, -0.45)]   // fewer positives than B·k: all of them
    [InlineData(8, 33, 1, 0.3)]
    public void BatchTopK_RandomBatch_MatchesFullSort(int rows, int latents, int k, double shift)
    {
        var random = new Random(rows + latents);
        var pre = Enumerable.Range(0, rows * latents).Select(_ => (float)(random.NextDouble() - 0.5 + shift)).ToArray();
        var bias = Enumerable.Range(0, latents).Select(_ => (float)(random.NextDouble() * 0.01)).ToArray();
        var selection = new SparseSelection<float>();
        fixed (float* p = pre) fixed (float* b = bias) TopKKernels.BatchTopK(p, b, rows, latents, rows * k, selection);
        var expected = ScalarKernels.BatchTopK(pre, bias, rows, latents, rows * k);
        var actual = new float[rows * latents];
        for (int r = 0; r < rows; r++)
            for (int p = selection.RowStart[r]; p < selection.RowStart[r + 1]; p++)
                actual[r * latents + selection.Latent[p]] = selection.Value[p];
        Assert.Equal(expected, actual);
        Assert.Equal(Math.Min(rows * k, expected.Count(v => v > 0)), selection.Count);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void KernelStep_OneStep_MatchesScalarTwin(bool batchTopK, bool withAux)
    {
        // float64, odd width: vector bodies and scalar tails both run.
        const int rows = 33, latents = 70, dim = 19, k = 3, auxK = 4;
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim, latents, ScalarType.Float64, seed: 17);
        var sae = fixture.CreateSae(batchTopK, k);
        var x = fixture.Batch(rows);
        var dead = withAux ? fixture.DeadMask(0.4) : zeros(latents, ScalarType.Bool);
        var settings = new StepSettings(1e-2, 0, dead, AuxKCoefficient: 0.25, AuxKLatents: auxK);

        double[] Array1(Tensor t) => t.detach().contiguous().data<double>().ToArray();
        var x64 = Array1(x);
        var wEnc = Array1(sae.EncoderWeightLD); var bEnc = Array1(sae.EncoderBiasL);
        var wDec = Array1(sae.DecoderWeightLD); var bDec = Array1(sae.DecoderBiasD);
        var preBL = Array1((x - sae.DecoderBiasD).matmul(sae.EncoderWeightLD.t()));
        double[] acts;
        if (batchTopK) acts = ScalarKernels.BatchTopK(preBL, bEnc, rows, latents, rows * k);
        else
        {
            acts = new double[rows * latents];
            var (latent, value) = ScalarKernels.TopKPerRow(preBL, bEnc, rows, latents, k);
            for (int i = 0; i < latent.Length; i++) acts[i / k * latents + latent[i]] = Math.Max(value[i], 0);
        }
        double[]? auxActs = null;
        var deadList = FusedTopKTrainingStep.DeadLatents(dead);
        if (deadList.Length > 0)
        {
            int kk = Math.Min(auxK, deadList.Length);
            var masked = preBL.Select((v, i) => deadList.Contains(i % latents) ? v : double.NegativeInfinity).ToArray();
            var (latent, value) = ScalarKernels.TopKPerRow(masked, bEnc, rows, latents, kk);
            auxActs = new double[rows * latents];
            for (int i = 0; i < latent.Length; i++) auxActs[i / kk * latents + latent[i]] = Math.Max(value[i], 0);
        }
        var moments = Enumerable.Range(0, 8).Select(i => new double[i % 4 is 0 or 2 ? latents * dim : i % 4 == 1 ? latents : dim]).ToArray();
        var adam = AdamCoefficients<double>.Create(1e-2, AdamOptimizer.Beta1, AdamOptimizer.Beta2, AdamOptimizer.Epsilon, 1);
        var (sqErr, auxErr) = ScalarKernels.Update(x64, acts, auxActs, rows, latents, dim, 0.25, wEnc, bEnc, wDec, bDec,
            moments[0], moments[4], moments[1], moments[5], moments[2], moments[6], moments[3], moments[7], adam, unitNormDecoder: true);

        using var fused = new FusedTopKTrainingStep(sae, FusedBackend.Kernels);
        using var result = fused.Step(x, settings);
        Assert.Equal(sqErr, result.SquaredErrorSum.item<double>(), 1e-10);
        Assert.Equal(auxErr / rows, result.AuxKLoss.item<double>(), 1e-10);
        AssertClose(wEnc, sae.EncoderWeightLD); AssertClose(bEnc, sae.EncoderBiasL);
        AssertClose(wDec, sae.DecoderWeightLD); AssertClose(bDec, sae.DecoderBiasD);
        AssertClose(moments[2], fused.Moments[2].M); AssertClose(moments[6], fused.Moments[2].V);

        void AssertClose(double[] expected, Tensor actual)
        {
            var a = Array1(actual);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(a[i] - expected[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected[i])), $"element {i}: {a[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void TensorMemory_NarrowedView_AddressesItsFirstElement()
    {
        using var t = arange(10, ScalarType.Float32);
        using var tail = t.narrow(0, 3, 4);
        Assert.Equal(3f, *(float*)TensorMemory.Address(tail));
    }
}
