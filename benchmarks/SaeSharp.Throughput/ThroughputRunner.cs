using System.Diagnostics;
using SaeSharp.Training;
using SaeSharp.Training.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Throughput;

/// <summary>One training-throughput shape: input width d, dictionary m, k active latents, batch B.</summary>
public sealed record ThroughputShape(int D, int M, int K, int Batch)
{
    public static readonly ThroughputShape Large = new(768, 16384, 32, 4096);
    public static readonly ThroughputShape Small = new(128, 1024, 16, 4096);

    public void Validate()
    {
        if (D < 1 || M < 1 || Batch < 1) throw new SaeSharpException($"bench shape must be positive, got d={D}, m={M}, batch={Batch}", field: "shape");
        if (K < 1 || K > M) throw new SaeSharpException($"k must be in [1, m={M}], got {K}", field: "k");
    }
}

/// <summary>How many untimed and timed repetitions each measurement gets.</summary>
public sealed record ThroughputRepetitions(int FusedWarmup, int FusedTimed, int AutogradWarmup, int AutogradTimed, int GemmWarmup, int GemmTimed)
{
    /// <summary>Fits in well under a minute at the large shape on 2 cores.</summary>
    public static readonly ThroughputRepetitions Quick = new(1, 3, 1, 1, 1, 3);
    public static readonly ThroughputRepetitions Full = new(2, 10, 1, 3, 2, 5);
}

/// <summary>What <see cref="ThroughputRunner.Run"/> measured (medians of the timed repetitions).</summary>
public sealed record ThroughputReport(
    int D, int M, int K, int Batch, int Threads,
    double TokensPerSecondFused, double TokensPerSecondAutograd, double GemmGflops, double EncoderGemmGflops,
    double CeilingTokensPerSecond, double FractionOfCeiling, double SpeedupOverAutograd,
    double FusedStepMs, double AutogradStepMs, double EncoderGemmMs, double LoadAverageBefore, double LoadAverageAfter,
    IReadOnlyList<(string Part, double Milliseconds)>? Profile);

/// <summary>
/// The throughput comparison shared by <c>saesharp bench</c> and the BenchmarkDotNet suite: the fused step
/// and the autograd step on the same random batch, beside the machine's own ceiling measured in the same
/// process: the encoder product alone (<c>[B, d] × [d, m]</c>, into a reused buffer) as tokens/s, and a
/// square 4096³ GEMM as GFLOP/s.
/// </summary>
public static class ThroughputRunner
{
    public static ThroughputReport Run(ThroughputShape shape, ThroughputRepetitions reps, bool includeAutograd = true, bool profile = false, int gemmSize = 4096)
    {
        if (gemmSize < 1) throw new SaeSharpException($"gemm size must be at least 1, got {gemmSize}", field: "gemm_size");
        shape.Validate();
        double loadBefore = LoadAverage();
        using var scope = NewDisposeScope();
        var generator = new Generator(1234);
        var (wEnc, bEnc, wDec, bDec) = InitialParameters(shape, generator);
        var xBD = randn([shape.Batch, shape.D], generator: generator);
        var settings = new StepSettings(1e-4, 0, zeros(shape.M, ScalarType.Bool), 1.0 / 32, shape.D / 2);

        double gemmGflops = SquareGemmGflops(gemmSize, reps);

        double fusedMs, encoderMs;
        IReadOnlyList<(string, double)>? parts = null;
        // Both steps are the trainer's own, on two copies of the same SAE.
        using var fusedSae = Sae(shape, wEnc, bEnc, wDec, bDec);
        using var autogradSae = Sae(shape, wEnc, bEnc, wDec, bDec);
        using (var fused = new FusedTopKTrainingStep(fusedSae))
        using (var encoder = new EncoderProduct(shape, xBD, wEnc, reps))
        {
            // Interleaved, so that load from other processes falls on the step and its ceiling alike.
            (fusedMs, encoderMs) = InterleavedMedianMs(reps.FusedWarmup, reps.FusedTimed,
                () => fused.Step(xBD, settings).Dispose(), encoder.Run);
            if (profile)
            {
                fused.Timings = new StepTimings(StepTimings.FusedTopKParts);
                for (int i = 0; i < Math.Max(3, reps.FusedTimed); i++) fused.Step(xBD, settings).Dispose();
                var measured = fused.Timings.MeanMilliseconds().ToList();
                // Gradients and Adam share one pass over the latent rows; Adam + renormalisation alone (every
                // row, zero gradient) is timed here so the split is visible.
                double adamOnly = AdamOnlyMs(shape, Math.Max(3, reps.FusedTimed));
                measured.Add(("of_which_adam_renorm_all_rows", adamOnly));
                parts = measured;
            }
        }

        double autogradMs = double.NaN;
        if (includeAutograd)
        {
            using var autograd = new AutogradTrainingStep(autogradSae);
            autogradMs = MedianMs(reps.AutogradWarmup, reps.AutogradTimed, () =>
            {
                using var stepScope = NewDisposeScope();
                autograd.Step(xBD, settings).Dispose();
            });
        }

        double tokensFused = shape.Batch / (fusedMs / 1000), tokensAutograd = shape.Batch / (autogradMs / 1000);
        double ceiling = shape.Batch / (encoderMs / 1000);
        double encoderGflops = 2.0 * shape.Batch * shape.D * shape.M / (encoderMs / 1000) / 1e9;
        return new ThroughputReport(shape.D, shape.M, shape.K, shape.Batch, get_num_threads(),
            tokensFused, tokensAutograd, gemmGflops, encoderGflops, ceiling, tokensFused / ceiling, tokensFused / tokensAutograd,
            fusedMs, autogradMs, encoderMs, loadBefore, LoadAverage(), parts);
    }

    /// <summary>A TopK SAE holding copies of the given parameters (W_enc latent-major <c>[M, D]</c>).</summary>
    public static Sae Sae(ThroughputShape shape, Tensor wEncLD, Tensor bEncL, Tensor wDecLD, Tensor bDecD)
    {
        var sae = SaeSharp.Sae.Create(new SaeConfig(shape.D, shape.M, new TopKArchitecture(shape.K)), seed: 0);
        using var noGrad = no_grad();
        sae.EncoderWeightLD.copy_(wEncLD);
        sae.EncoderBiasL.copy_(bEncL);
        sae.DecoderWeightLD.copy_(wDecLD);
        sae.DecoderBiasD.copy_(bDecD);
        return sae;
    }

    /// <summary>Unit-norm random decoder rows; the encoder starts as the decoder (the usual tied init).</summary>
    public static (Tensor WEnc, Tensor BEnc, Tensor WDec, Tensor BDec) InitialParameters(ThroughputShape shape, Generator generator)
    {
        var wDec = randn([shape.M, shape.D], generator: generator);
        wDec = wDec / wDec.norm(1, keepdim: true);
        return (wDec.clone(), zeros(shape.M), wDec, zeros(shape.D));
    }

    /// <summary>
    /// The encoder's dense product alone, <c>[B, d] × [d, m]</c> into a reused <c>[B, m]</c> buffer, with the
    /// weight in whichever layout multiplies faster here (the step's latent-major <c>[m, d]</c>, transposed,
    /// or a contiguous <c>[d, m]</c>): the fastest this product runs, so the ceiling is not flattered. The
    /// bias is left out (it would only lower the ceiling).
    /// </summary>
    public sealed class EncoderProduct : IDisposable
    {
        readonly Tensor xBD, preBL, weightDL;

        public EncoderProduct(ThroughputShape shape, Tensor xBD, Tensor wEncLD, ThroughputRepetitions reps)
        {
            this.xBD = xBD;
            preBL = empty(shape.Batch, shape.M).DetachFromDisposeScope();
            var latentMajor = wEncLD.t().DetachFromDisposeScope();
            var inputMajor = latentMajor.contiguous().DetachFromDisposeScope();
            double a = MedianMs(reps.GemmWarmup, reps.GemmTimed, () => preBL.addmm_(xBD, latentMajor, beta: 0, alpha: 1));
            double b = MedianMs(reps.GemmWarmup, reps.GemmTimed, () => preBL.addmm_(xBD, inputMajor, beta: 0, alpha: 1));
            weightDL = a <= b ? latentMajor : inputMajor;
            (a <= b ? inputMajor : latentMajor).Dispose();
        }

        public void Run() => preBL.addmm_(xBD, weightDL, beta: 0, alpha: 1);

        public void Dispose()
        {
            preBL.Dispose(); weightDL.Dispose();
        }
    }

    /// <summary>Medians of two actions timed in alternation.</summary>
    public static (double FirstMs, double SecondMs) InterleavedMedianMs(int warmup, int timed, Action first, Action second)
    {
        for (int i = 0; i < warmup; i++) { first(); second(); }
        var a = new double[timed]; var b = new double[timed];
        for (int i = 0; i < timed; i++)
        {
            long start = Stopwatch.GetTimestamp();
            first();
            a[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            start = Stopwatch.GetTimestamp();
            second();
            b[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return (Median(a), Median(b));
    }

    static double Median(double[] samples)
    {
        Array.Sort(samples);
        int n = samples.Length;
        return n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    }

    static unsafe double AdamOnlyMs(ThroughputShape shape, int timed)
    {
        using var scope = NewDisposeScope();
        var tensors = Enumerable.Range(0, 6).Select(_ => zeros(shape.M, shape.D)).ToArray();
        var biases = Enumerable.Range(0, 3).Select(_ => zeros(shape.M)).ToArray();
        var buckets = new LatentBuckets<float>();
        buckets.Reset(shape.M, 0);
        Array.Clear(buckets.Start);
        var parts = new float[SparseKernels.LatentChunkCount(shape.M) * shape.D];
        var adam = AdamCoefficients<float>.Create(1e-4, AdamOptimizer.Beta1, AdamOptimizer.Beta2, AdamOptimizer.Epsilon, 10);
        float* P(Tensor t) => (float*)Internals.TensorMemory.Address(t);
        return MedianMs(1, timed, () => SparseKernels.LatentUpdate(buckets, null, null, shape.M, shape.D,
            P(tensors[0]), P(biases[0]), P(tensors[1]), P(tensors[2]), P(tensors[3]), P(biases[1]), P(biases[2]), P(tensors[4]), P(tensors[5]),
            adam, unitNormDecoder: true, parts));
    }

    public static double SquareGemmGflops(int n, ThroughputRepetitions reps)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n); var b = randn(n, n); var c = empty(n, n);
        double ms = MedianMs(reps.GemmWarmup, Math.Max(2, reps.GemmTimed - 1), () => c.addmm_(a, b, beta: 0, alpha: 1));
        return 2.0 * n * n * n / (ms / 1000) / 1e9;
    }

    public static double MedianMs(int warmup, int timed, Action action)
    {
        for (int i = 0; i < warmup; i++) action();
        var samples = new double[timed];
        for (int i = 0; i < timed; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return Median(samples);
    }

    /// <summary>The 1-minute load average (Linux), or NaN where unavailable: timings taken under load read low.</summary>
    public static double LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException) { return double.NaN; }
        catch (UnauthorizedAccessException) { return double.NaN; }
    }
}
