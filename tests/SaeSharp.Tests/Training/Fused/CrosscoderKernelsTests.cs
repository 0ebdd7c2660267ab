using System.Numerics;
using SaeSharp.Internals;
using SaeSharp.Training;
using SaeSharp.Training.Fused;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>The crosscoder's vectorised, parallel kernels against their plain scalar twins.</summary>
[Collection("Torch")]
public sealed unsafe class CrosscoderKernelsTests
{
    [Theory]
    [InlineData(1, 3, 5)]
    [InlineData(2, 37, 70)]
    [InlineData(3, 64, 129)]
    public void NormSums_RandomDecoder_MatchesPlainLoops(int sources, int dim, int latents)
    {
        var random = new Random(sources * dim + latents);
        var wDec = Enumerable.Range(0, latents * sources * dim).Select(_ => random.NextDouble() - 0.5).ToArray();
        var actual = new double[latents];
        fixed (double* w = wDec) fixed (double* a = actual) CrosscoderKernels.NormSums(w, latents, sources, dim, a);
        var expected = CrosscoderScalarKernels.NormSums(wDec, latents, sources, dim);
        for (int l = 0; l < latents; l++) Assert.Equal(expected[l], actual[l], 1e-13);

        var wDec32 = wDec.Select(v => (float)v).ToArray();
        var actual32 = new float[latents];
        fixed (float* w = wDec32) fixed (float* a = actual32) CrosscoderKernels.NormSums(w, latents, sources, dim, a);
        var expected32 = CrosscoderScalarKernels.NormSums(wDec32, latents, sources, dim);
        for (int l = 0; l < latents; l++) Assert.True(Math.Abs(expected32[l] - actual32[l]) <= 1e-5f * expected32[l], $"latent {l}");
    }

    /// <summary>How the test batch is made.</summary>
    public enum Pattern
    {
        /// <summary>Uniform random values.</summary>
        Random,

        /// <summary>Values on a coarse grid and weights from {1, 2}: many equal keys, the cut falls inside a tie.</summary>
        Ties,

        /// <summary>The rows the kernel samples (every 8th) hold far larger values: its first floor guess is too high and the fallback must run.</summary>
        SampledRowsLarger,
    }

    [Theory]
    [InlineData(37, 203, 7, Pattern.Random)]
    [InlineData(64, 1024, 32, Pattern.Random)]
    [InlineData(512, 300, 16, Pattern.Random)]
    [InlineData(16, 40, 4, Pattern.Ties)]
    [InlineData(300, 40, 4, Pattern.Ties)]
    [InlineData(256, 64, 4, Pattern.SampledRowsLarger)]
    [InlineData(5, 9, 50, Pattern.Random)]
    public void WeightedBatchTopK_Float32_MatchesFullSort(int rows, int latents, int k, Pattern pattern) =>
        CheckWeightedBatchTopK<float>(rows, latents, k, pattern);

    [Theory]
    [InlineData(33, 150, 5, Pattern.Random)]
    [InlineData(16, 40, 4, Pattern.Ties)]
    [InlineData(256, 64, 4, Pattern.SampledRowsLarger)]
    public void WeightedBatchTopK_Float64_MatchesFullSort(int rows, int latents, int k, Pattern pattern) =>
        CheckWeightedBatchTopK<double>(rows, latents, k, pattern);

    private static void CheckWeightedBatchTopK<T>(int rows, int latents, int k, Pattern pattern) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(rows * latents + k);
        bool manyTies = pattern == Pattern.Ties;
        T Value(int index) => T.CreateChecked(manyTies ? Math.Round(random.NextDouble() * 8 - 4) / 4
            : (random.NextDouble() * 2 - 1) * (pattern == Pattern.SampledRowsLarger && index / latents % 8 == 0 ? 100 : 1));
        var pre = Enumerable.Range(0, rows * latents).Select(Value).ToArray();
        var bias = Enumerable.Range(0, latents).Select(_ => manyTies ? T.Zero : T.CreateChecked(random.NextDouble() * 0.2)).ToArray();
        var weight = Enumerable.Range(0, latents).Select(_ => T.CreateChecked(manyTies ? random.Next(1, 3) : random.NextDouble() * 3)).ToArray();
        int total = rows * k;
        var selection = new SparseSelection<T>();
        var scratch = new WeightedSelectionScratch<T>();
        fixed (T* p = pre) fixed (T* b = bias) fixed (T* w = weight)
        {
            // A first call on other data leaves the reused buffers dirty: the second must not depend on them.
            var other = Enumerable.Range(0, rows * latents).Select(i => T.CreateChecked(i % 7)).ToArray();
            fixed (T* o = other) CrosscoderKernels.WeightedBatchTopK(o, b, w, rows, latents, total, selection, scratch);
            CrosscoderKernels.WeightedBatchTopK(p, b, w, rows, latents, total, selection, scratch);
        }
        var expected = CrosscoderScalarKernels.WeightedBatchTopK(pre, bias, weight, rows, latents, total);
        var actual = new T[rows * latents];
        for (int r = 0; r < rows; r++)
            for (int e = selection.RowStart[r]; e < selection.RowStart[r + 1]; e++) actual[r * latents + selection.Latent[e]] = selection.Value[e];
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Count(v => v != T.Zero), selection.Count);
        Assert.True(selection.Count <= total);
        Assert.False(selection.NonFinite);
    }

    [Fact]
    public void WeightedBatchTopK_NaNPreActivation_FlagsNonFinite()
    {
        var pre = Enumerable.Range(0, 4 * 40).Select(i => i == 77 ? float.NaN : i % 5 - 1f).ToArray();
        var weight = Enumerable.Repeat(1f, 40).ToArray();
        var selection = new SparseSelection<float>();
        fixed (float* p = pre) fixed (float* b = new float[40]) fixed (float* w = weight) CrosscoderKernels.WeightedBatchTopK(p, b, w, 4, 40, 8, selection, new WeightedSelectionScratch<float>());
        Assert.True(selection.NonFinite);
        Assert.Equal(8, selection.Count);
    }

    [Theory]
    [InlineData(21, 150, 6, false)]
    [InlineData(40, 300, 77, false)]
    [InlineData(16, 60, 5, true)]
    [InlineData(7, 30, 0, false)]
    public void TopKPerRowAmong_Candidates_MatchesFullSortOverCandidates(int rows, int latents, int k, bool manyTies)
    {
        Check<float>(); Check<double>();

        void Check<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
        {
            var random = new Random(rows + latents + k);
            var pre = Enumerable.Range(0, rows * latents)
                .Select(_ => T.CreateChecked(manyTies ? Math.Round(random.NextDouble() * 6 - 3) / 2 : random.NextDouble() - 0.5)).ToArray();
            var bias = Enumerable.Range(0, latents).Select(_ => manyTies ? T.Zero : T.CreateChecked(random.NextDouble() * 0.1)).ToArray();
            var candidates = Enumerable.Range(0, latents).Where(i => i % 7 == 2 || i % 11 == 0 || i % 3 == 1).ToArray();
            int take = k == 0 ? candidates.Length : k; // 0: every candidate
            var selection = new SparseSelection<T>();
            fixed (T* p = pre) fixed (T* b = bias) TopKKernels.TopKPerRowAmong(p, b, rows, latents, candidates, take, selection);
            var (expectedValues, expectedChosen) = CrosscoderScalarKernels.TopKPerRowAmong(pre, bias, rows, latents, candidates, take);
            var chosen = new bool[rows * latents]; var values = new T[rows * latents];
            for (int r = 0; r < rows; r++)
            {
                Assert.Equal(take, selection.RowStart[r + 1] - selection.RowStart[r]);
                for (int e = selection.RowStart[r]; e < selection.RowStart[r + 1]; e++)
                {
                    Assert.False(chosen[r * latents + selection.Latent[e]], "a latent was chosen twice");
                    chosen[r * latents + selection.Latent[e]] = true; values[r * latents + selection.Latent[e]] = selection.Value[e];
                }
            }
            Assert.Equal(expectedChosen, chosen);
            Assert.Equal(expectedValues, values);
            Assert.False(selection.NonFinite);
        }
    }

    [Fact]
    public void TopKPerRowAmong_RowWithNaN_FlagsNonFinite()
    {
        var pre = Enumerable.Range(0, 3 * 10).Select(i => i == 14 ? float.NaN : i % 4 - 1f).ToArray();
        var selection = new SparseSelection<float>();
        fixed (float* p = pre) fixed (float* b = new float[10]) TopKKernels.TopKPerRowAmong(p, b, 3, 10, [1, 3, 4, 8], 2, selection);
        Assert.True(selection.NonFinite);
        Assert.Equal(6, selection.Count);
    }

    [Fact]
    public void KthLargest_RandomArraysWithDuplicates_EqualsSortedPick()
    {
        var random = new Random(5);
        for (int trial = 0; trial < 300; trial++)
        {
            int n = random.Next(1, 60);
            var values = Enumerable.Range(0, n).Select(_ => (double)random.Next(0, trial % 3 == 0 ? 4 : 1000)).ToArray();
            int k = random.Next(1, n + 1);
            double expected = values.OrderByDescending(v => v).ElementAt(k - 1);
            Assert.Equal(expected, TopKKernels.KthLargest(values.ToArray(), n, k));
        }
    }

    /// <summary>
    /// The whole fused step (dense product, norms, selection, AuxK, decode, decoder and encoder kernels, Adam) against
    /// the plain twin of the same math on arrays, over two steps; shapes with tails (X not a multiple of the vector
    /// width or the input tile, L over one latent tile).
    /// </summary>
    [Theory]
    [InlineData(false, 2, 12, 40, 16, 4, false)]
    [InlineData(false, 3, 23, 1100, 8, 6, false)]
    [InlineData(true, 3, 23, 1100, 8, 6, false)]
    [InlineData(false, 2, 12, 40, 16, 4, true)]
    public void FusedCrosscoderStep_TwoSteps_MatchesScalarTwin(bool denseEncoder, int sources, int dim, int latents, int rows, int k, bool float32)
    {
        if (float32) Check<float>(ScalarType.Float32, 1e-5);
        else Check<double>(ScalarType.Float64, 1e-12);

        void Check<T>(ScalarType dtype, double tolerance) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        {
            using var scope = NewDisposeScope();
            var trainable = Parameters(sources, dim, latents, dtype);
            var parameters = trainable.Select(p => TensorMemory.Span<T>(p.Parameter).ToArray()).ToArray();
            var m = parameters.Select(p => new T[p.Length]).ToArray();
            var v = parameters.Select(p => new T[p.Length]).ToArray();
            var deadMaskL = tensor(Enumerable.Range(0, latents).Select(l => l % 3 == 1).ToArray());
            var dead = Enumerable.Range(0, latents).Select(l => l % 3 == 1).ToArray();
            using var step = new FusedCrosscoderStep(trainable, k, denseEncoder ? EncoderGradientMode.Dense : EncoderGradientMode.Sparse);
            for (int i = 1; i <= 2; i++)
            {
                var xBSD = randn(rows, sources, dim, dtype: ScalarType.Float64, generator: new Generator((ulong)(40 + i))).to_type(dtype);
                using var result = step.Step(xBSD, new StepSettings(1e-2, 0, deadMaskL, 0.25, 5));
                var adam = AdamCoefficients<T>.Create(1e-2, AdamOptimizer.Beta1, AdamOptimizer.Beta2, AdamOptimizer.Epsilon, i);
                var (squaredError, auxError) = CrosscoderScalarKernels.Step(TensorMemory.Span<T>(xBSD).ToArray(), rows, sources, dim, latents, k,
                    dead, T.CreateChecked(0.25), 5, parameters[0], parameters[2], parameters[1], parameters[3], [m[0], m[1], m[2], m[3]], [v[0], v[1], v[2], v[3]], adam);
                Assert.Equal((squaredError + 0.25 * auxError) / rows, result.Loss.to_type(ScalarType.Float64).item<double>(), tolerance * 10);
            }
            // The twin's moment order is W_enc, W_dec, b_enc, b_dec: the crosscoder's training-state order.
            var state = step.OptimizerState().ToDictionary(e => e.Name, e => e.Tensor);
            foreach (var ((name, parameter), index) in trainable.Select((p, i) => (p, i)))
            {
                Close(parameters[index], TensorMemory.Span<T>(parameter).ToArray(), name);
                Close(m[index], TensorMemory.Span<T>(state[$"adam.m.{name}"]).ToArray(), $"adam.m.{name}");
                Close(v[index], TensorMemory.Span<T>(state[$"adam.v.{name}"]).ToArray(), $"adam.v.{name}");
            }

            void Close(T[] expected, T[] actual, string what)
            {
                double diff = 0, norm = 0;
                for (int j = 0; j < expected.Length; j++)
                {
                    double e = double.CreateChecked(expected[j]), a = double.CreateChecked(actual[j]);
                    diff += (e - a) * (e - a); norm += e * e;
                }
                Assert.True(norm > 0, $"{what} is zero");
                Assert.True(Math.Sqrt(diff / norm) < tolerance, $"{what}: relative difference {Math.Sqrt(diff / norm):E3}");
            }
        }
    }

    /// <summary>A crosscoder's four parameters in training-state order, seeded: decoder rows of unequal norms (so the Σ_s ‖d_l^s‖ weighting changes the selection), the encoder their transpose, small random biases.</summary>
    private static (string Name, TorchSharp.Modules.Parameter Parameter)[] Parameters(int sources, int dim, int latents, ScalarType dtype)
    {
        using var generator = new Generator(103);
        var wDecLSD = randn(latents, sources, dim, dtype: ScalarType.Float64, generator: generator).mul(0.3 / Math.Sqrt(dim))
            .mul(rand(latents, 1, 1, dtype: ScalarType.Float64, generator: generator).mul(1.5).add(0.25));
        var wEncSDL = wDecLSD.permute(1, 2, 0).contiguous();
        var bEncL = randn(latents, dtype: ScalarType.Float64, generator: generator).mul(0.2);
        var bDecSD = randn(sources, dim, dtype: ScalarType.Float64, generator: generator).mul(0.1);
        return [("W_enc", P(wEncSDL)), ("W_dec", P(wDecLSD)), ("b_enc", P(bEncL)), ("b_dec", P(bDecSD))];

        TorchSharp.Modules.Parameter P(Tensor t) => new(t.to_type(dtype).contiguous().DetachFromDisposeScope(), requires_grad: true);
    }
}
