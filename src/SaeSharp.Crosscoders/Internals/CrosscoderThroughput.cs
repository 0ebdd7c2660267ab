using System.Diagnostics;
using SaeSharp.Training.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Internals;

/// <summary>One crosscoder throughput shape: S sources of width D, L latents, K active per row on average, batch B.</summary>
internal sealed record CrosscoderThroughputShape(int Sources, int D, int L, int K, int Batch)
{
    /// <summary>The demo's size.</summary>
    public static readonly CrosscoderThroughputShape Demo = new(2, 128, 256, 16, 512);

    /// <summary>A realistic size: two GPT-2-small-wide residual streams, a 16k dictionary.</summary>
    public static readonly CrosscoderThroughputShape Realistic = new(2, 768, 16384, 32, 1024);

    public void Validate()
    {
        if (Sources < 1 || D < 1 || L < 1 || Batch < 1)
            throw new SaeSharpException($"bench shape must be positive, got sources={Sources}, d={D}, m={L}, batch={Batch}", field: "shape");
        if (K < 1 || K > L) throw new SaeSharpException($"k must be in [1, m={L}], got {K}", field: "k");
    }
}

/// <summary>What <see cref="CrosscoderThroughput.Run"/> measured (medians of the timed repetitions).</summary>
internal sealed record CrosscoderThroughputReport(
    CrosscoderThroughputShape Shape, int Threads, double DeadFraction,
    double FusedStepMs, double FusedDenseEncoderStepMs, double AutogradStepMs, double EncoderGemmMs,
    double LoadAverageBefore, double LoadAverageAfter, IReadOnlyList<(string Part, double Milliseconds)>? Profile)
{
    /// <summary>GFLOP of the one dense product [B, S·D] × [S·D, L].</summary>
    public double EncoderGemmGflop => 2.0 * Shape.Batch * Shape.Sources * Shape.D * Shape.L / 1e9;

    public double EncoderGemmGflops => EncoderGemmGflop / (EncoderGemmMs / 1000);

    public double CeilingTokensPerSecond => Shape.Batch / (EncoderGemmMs / 1000);

    public double TokensPerSecondFused => Shape.Batch / (FusedStepMs / 1000);

    public double TokensPerSecondFusedDenseEncoder => Shape.Batch / (FusedDenseEncoderStepMs / 1000);

    public double TokensPerSecondAutograd => Shape.Batch / (AutogradStepMs / 1000);
}

/// <summary>
/// Crosscoder training throughput: the fused BatchTopK step (sparse encoder gradient, the default; and the
/// dense-GEMM encoder gradient variant) against the autograd step, on one random batch, beside the machine's
/// ceiling measured in the same process: the encoder's dense product alone, <c>[B, S·D] × [S·D, L]</c> into a
/// reused buffer, as tokens/s. Each variant trains its own copy of one seeded crosscoder; the two fused variants
/// and the ceiling are timed in alternation, the (much slower) autograd step on its own afterwards.
/// </summary>
internal static class CrosscoderThroughput
{
    public static CrosscoderThroughputReport Run(CrosscoderThroughputShape shape, ThroughputRepetitions reps, bool includeAutograd = true,
        bool profile = false, double deadFraction = 0)
    {
        shape.Validate();
        if (!(deadFraction is >= 0 and <= 1)) throw new SaeSharpException($"dead fraction must be in [0, 1], got {deadFraction}", field: "dead_fraction");
        double loadBefore = ThroughputRunner.LoadAverage();
        var config = new CrosscoderConfig { SourceCount = shape.Sources, InputDim = shape.D, LatentCount = shape.L, K = shape.K };
        int width = shape.Sources * shape.D;
        int auxKLatents = new CrosscoderTrainConfig().ResolvedAuxKLatents(config);
        const double AuxKCoefficient = 1.0 / 32, LearningRate = 1e-4;
        using var scope = NewDisposeScope();
        var xBSD = randn([shape.Batch, shape.Sources, shape.D], generator: new Generator(1234));
        // Every n-th latent dead, so AuxK runs with the trainer's default AuxK width.
        int every = deadFraction > 0 ? Math.Max(1, (int)Math.Round(1 / deadFraction)) : 0;
        var deadMaskL = tensor(Enumerable.Range(0, shape.L).Select(l => every > 0 && l % every == 0).ToArray());

        double fusedMs, encoderMs, denseMs, autogradMs = double.NaN;
        IReadOnlyList<(string, double)>? parts = null;
        using (var sparseCrosscoder = Crosscoder.Create(config, seed: 1))
        using (var denseCrosscoder = Crosscoder.Create(config, seed: 1))
        using (var fused = new FusedCrosscoderStep(sparseCrosscoder))
        using (var dense = new FusedCrosscoderStep(denseCrosscoder, FusedCrosscoderStep.EncoderGradientMode.Dense))
        using (var wEncLX = sparseCrosscoder.EncoderWeightSDL.detach().view(width, shape.L).t())
        using (var encoder = new ThroughputRunner.EncoderProduct(new ThroughputShape(width, shape.L, shape.K, shape.Batch), xBSD.view(shape.Batch, width), wEncLX, reps))
        {
            Action fusedStep = () => fused.Step(xBSD, LearningRate, 0, deadMaskL, AuxKCoefficient, auxKLatents).Dispose();
            Action denseStep = () => dense.Step(xBSD, LearningRate, 0, deadMaskL, AuxKCoefficient, auxKLatents).Dispose();
            WarmUp(fusedStep, reps.FusedWarmup);
            WarmUp(denseStep, reps.FusedWarmup);
            WarmUp(encoder.Run, reps.GemmWarmup);
            // Interleaved, so that load from other processes falls on both variants and the ceiling alike.
            var medians = InterleavedMedianMs(reps.FusedTimed, fusedStep, denseStep, encoder.Run);
            (fusedMs, denseMs, encoderMs) = (medians[0], medians[1], medians[2]);
            if (profile)
            {
                fused.Timings = new StepTimings(FusedCrosscoderStep.TimingParts);
                for (int i = 0; i < Math.Max(3, reps.FusedTimed); i++) fusedStep();
                parts = fused.Timings.MeanMilliseconds();
            }
        }
        if (includeAutograd)
        {
            using var crosscoder = Crosscoder.Create(config, seed: 1);
            using var autograd = new CrosscoderStep(crosscoder);
            Action autogradStep = () =>
            {
                using var stepScope = NewDisposeScope();
                autograd.Step(xBSD, LearningRate, 0, deadMaskL, AuxKCoefficient, auxKLatents).Dispose();
            };
            WarmUp(autogradStep, reps.AutogradWarmup);
            autogradMs = InterleavedMedianMs(reps.AutogradTimed, autogradStep)[0];
        }
        return new CrosscoderThroughputReport(shape, get_num_threads(), every > 0 ? 1.0 / every : 0,
            fusedMs, denseMs, autogradMs, encoderMs, loadBefore, ThroughputRunner.LoadAverage(), parts);
    }

    /// <summary>
    /// Runs <paramref name="action"/> at least <paramref name="minimum"/> times, then on until 40 calls or 3 s: the
    /// JIT promotes a method to optimised code only after about 30 calls, so at small shapes a couple of warm-up
    /// steps would time unoptimised kernels (a real run takes thousands of steps).
    /// </summary>
    static void WarmUp(Action action, int minimum)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < minimum || (i < 40 && clock.Elapsed.TotalSeconds < 3); i++) action();
    }

    /// <summary>
    /// Median milliseconds of each action, timed in rounds (one call of each per round). At least
    /// <paramref name="minimumRounds"/> rounds, more (up to 200) while the rounds so far took under 2 s: at small
    /// shapes a step takes milliseconds and a handful of samples would time the neighbours' load, not the step.
    /// </summary>
    static double[] InterleavedMedianMs(int minimumRounds, params Action[] actions)
    {
        var samples = actions.Select(_ => new List<double>()).ToArray();
        var clock = Stopwatch.StartNew();
        for (int round = 0; round < minimumRounds || (round < 200 && clock.Elapsed.TotalSeconds < 2); round++)
            for (int i = 0; i < actions.Length; i++)
            {
                long start = Stopwatch.GetTimestamp();
                actions[i]();
                samples[i].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        return samples.Select(Median).ToArray();

        static double Median(List<double> values)
        {
            values.Sort();
            int n = values.Count;
            return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
        }
    }
}
