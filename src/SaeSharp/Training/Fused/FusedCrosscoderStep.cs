using System.Numerics;
using SaeSharp.Internals;
using SaeSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Training.Fused;

/// <summary>
/// The BatchTopK crosscoder step with a hand-derived sparse backward: the same loss, AuxK, Adam and training-state
/// names as the crosscoder's autograd step (SaeSharp.Crosscoders), so either resumes the other's optimizer state. With X = S·D, x as
/// <c>[B, X]</c>, W_enc as <c>[X, L]</c> and W_dec as <c>[L, X]</c> (views of the stored tensors):
/// pre = x·W_enc + b_enc (the one dense product); w_l = Σ_s ‖d_l^s‖; keep the B·K largest relu(pre)·w over the
/// batch; x̂_b = b_dec + Σ_{l ∈ S_b} relu(pre_bl)·W_dec[l]. Backward with g_b = 2(x̂_b − x_b)/B (plus the AuxK rows
/// 2α(ê_b − (x_b − x̂_b))/B for the top dead pre-activations, decoded without b_dec):
/// g_pre[b,l] = ⟨g_b, W_dec[l]⟩; ∇W_dec[l] = Σ_b f_bl g_b; ∇b_enc[l] = Σ_b g_pre[b,l]; ∇W_enc[:, l] = Σ_b g_pre[b,l] x_b;
/// ∇b_dec = Σ_b g_b. The selection mask and the weights w are constants (as in autograd, where they are
/// computed without gradient). Only the selected latents carry gradient; Adam still updates every entry.
/// </summary>
/// <remarks>
/// Unlike an SAE, the encoder reads raw x (no b_dec centring, so b_dec gets no encoder term), the decoders are
/// free (no renormalisation, no gradient projection), and the encoder is stored input-major, so its gradient is
/// formed tile by tile in that layout (<see cref="CrosscoderKernels.EncoderUpdate"/>) or, for comparison, as one
/// dense product xᵀ·G (<see cref="EncoderGradientMode.Dense"/>). CPU tensors of float32 or float64 only.
/// </remarks>
public sealed class FusedCrosscoderStep : ITrainingStep
{
    private readonly Parameter _wEncSDL, _wDecLSD, _bEncL, _bDecSD;
    private readonly int _sources, _dim, _latents, _k;
    private readonly EncoderGradientMode _encoderGradient;
    // Moments, step count and training-state names as the autograd step keeps them, so either step resumes the other.
    private readonly AdamOptimizer _adam;
    private Tensor? _preBL, _gradEncXL;
    private object? _cpuState;

    /// <summary>
    /// Trains the parameters in place, given by training-state name in this order: <c>W_enc [S, D, L]</c>,
    /// <c>W_dec [L, S, D]</c>, <c>b_enc [L]</c>, <c>b_dec [S, D]</c>; <paramref name="k"/> latents per row on
    /// average (BatchTopK over B·k). Build it after any dtype conversion.
    /// </summary>
    /// <exception cref="SaeSharpException">The parameters are not four of those shapes, not on the CPU, or not float32/float64.</exception>
    public FusedCrosscoderStep(IReadOnlyList<(string Name, Parameter Parameter)> parameters, int k, EncoderGradientMode encoderGradient = EncoderGradientMode.Sparse)
    {
        if (parameters.Count != 4 || parameters[0].Parameter.ndim != 3)
            throw new SaeSharpException("expected the parameters W_enc [S, D, L], W_dec [L, S, D], b_enc [L], b_dec [S, D]", field: "parameters");
        var weight = parameters[0].Parameter;
        if (!Supports(weight))
            throw new SaeSharpException($"the fused step needs float32 or float64 parameters on the CPU, got {weight.dtype} on {weight.device}; use the autograd step", field: "step_kind");
        (_wEncSDL, _wDecLSD, _bEncL, _bDecSD) = (parameters[0].Parameter, parameters[1].Parameter, parameters[2].Parameter, parameters[3].Parameter);
        (_sources, _dim, _latents) = ((int)weight.shape[0], (int)weight.shape[1], (int)weight.shape[2]);
        if (!_wDecLSD.shape.SequenceEqual(new long[] { _latents, _sources, _dim }) || !_bEncL.shape.SequenceEqual(new long[] { _latents })
            || !_bDecSD.shape.SequenceEqual(new long[] { _sources, _dim }))
            throw new SaeSharpException($"parameter shapes disagree with W_enc [{string.Join(", ", weight.shape)}]", field: "parameters");
        if (k < 1 || k > _latents)
            throw new SaeSharpException($"k = {k} must be in [1, {_latents}]", field: "k");
        _k = k;
        _encoderGradient = encoderGradient;
        using var noGrad = no_grad();
        _adam = new AdamOptimizer(parameters);
    }

    /// <summary>Whether a crosscoder with this encoder weight can train with this step (CPU, float32 or float64).</summary>
    public static bool Supports(Tensor encoderWeight) =>
        encoderWeight.device_type == DeviceType.CPU && encoderWeight.dtype is ScalarType.Float32 or ScalarType.Float64;

    /// <summary>When set, each step adds its per-part wall time here.</summary>
    public StepTimings? Timings { get; set; }

    /// <summary>The parts this step laps in <see cref="Timings"/>, in order.</summary>
    public static readonly IReadOnlyList<string> TimingParts =
        ["encoder_gemm", "norms_batchtopk", "auxk_select", "decode", "bucket", "decoder_grads_adam", "encoder_grads_adam", "b_dec_metrics"];

    /// <summary>Adam steps taken so far.</summary>
    public long StepCount => _adam.StepCount;

    /// <inheritdoc />
    public StepResult Step(Tensor xBSD, StepSettings settings)
    {
        int s = _sources, d = _dim;
        if (xBSD.dim() != 3 || xBSD.shape[1] != s || xBSD.shape[2] != d)
            throw new SaeSharpException($"input has shape [{string.Join(", ", xBSD.shape)}], expected [B, {s}, {d}]", field: "x");
        var dtype = _wEncSDL.dtype;
        if (xBSD.dtype != dtype || xBSD.device_type != DeviceType.CPU)
            throw new SaeSharpException($"input is {xBSD.dtype} on {xBSD.device}, expected {dtype} on the CPU like the parameters", field: "x");
        using var noGrad = no_grad();
        long step = _adam.AdvanceStep();
        return dtype == ScalarType.Float32
            ? KernelStep<float>(xBSD, settings.LearningRate, step, settings.DeadMaskL, settings.AuxKCoefficient, settings.AuxKLatents)
            : KernelStep<double>(xBSD, settings.LearningRate, step, settings.DeadMaskL, settings.AuxKCoefficient, settings.AuxKLatents);
    }

    /// <summary>Buffers reused from step to step.</summary>
    private sealed class CpuState<T> where T : unmanaged
    {
        public readonly SparseSelection<T> Main = new(), Aux = new();
        public readonly LatentBuckets<T> Buckets = new();
        public readonly WeightedSelectionScratch<T> Selection = new();
        public T[] GradRowsX = [], SqErrB = [], AuxErrB = [], GradSumParts = [], NormSumL = [], GPreP = [];
    }

    private unsafe StepResult KernelStep<T>(Tensor xInput, double learningRate, long step, Tensor deadMaskL, double auxKCoefficient, int auxKLatents)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = (int)xInput.shape[0], sources = _sources, dim = _dim, latents = _latents;
        int width = sources * dim;
        var timings = Timings;
        timings?.Start();
        var state = _cpuState as CpuState<T> ?? new CpuState<T>();
        _cpuState = state;
        using var xBSD = xInput.contiguous();
        using var xBX = xBSD.view(rows, width);
        if (_preBL is null || _preBL.shape[0] != rows)
        {
            _preBL?.Dispose();
            _preBL = empty([rows, latents], xBX.dtype).DetachFromDisposeScope();
        }
        Tensor wEnc = _wEncSDL, wDec = _wDecLSD, bEnc = _bEncL, bDec = _bDecSD;
        using (var wEncXL = wEnc.view(width, latents)) _preBL.addmm_(xBX, wEncXL, beta: 0, alpha: 1);
        timings?.Lap(0);

        T* pre = Ptr<T>(_preBL), x = Ptr<T>(xBX);
        T* wEncP = Ptr<T>(wEnc), wDecP = Ptr<T>(wDec), bEncP = Ptr<T>(bEnc), bDecP = Ptr<T>(bDec);
        if (state.NormSumL.Length != latents) state.NormSumL = new T[latents];
        var dead = FusedTopKTrainingStep.DeadLatents(deadMaskL);
        int auxK = auxKCoefficient == 0 ? 0 : Math.Min(auxKLatents, dead.Length);
        SparseSelection<T>? aux = auxK > 0 ? state.Aux : null;
        fixed (T* normSum = state.NormSumL)
        {
            CrosscoderKernels.NormSums(wDecP, latents, sources, dim, normSum);
            CrosscoderKernels.WeightedBatchTopK(pre, bEncP, normSum, rows, latents, checked(rows * _k), state.Main, state.Selection);
        }
        timings?.Lap(1);
        if (aux is not null) TopKKernels.TopKPerRowAmong(pre, bEncP, rows, latents, dead, auxK, aux);
        timings?.Lap(2);

        int gradRows = aux is null ? rows : 2 * rows;
        int chunks = TopKKernels.ChunkCount(rows);
        if (state.GradRowsX.Length < (long)gradRows * width) state.GradRowsX = GC.AllocateUninitializedArray<T>(checked(gradRows * width));
        if (state.SqErrB.Length < rows) { state.SqErrB = new T[rows]; state.AuxErrB = new T[rows]; }
        if (state.GradSumParts.Length < chunks * width) state.GradSumParts = new T[chunks * width];
        var firedL = zeros(latents, ScalarType.Float32);
        var adam = AdamCoefficients<T>.Create(learningRate, AdamOptimizer.Beta1, AdamOptimizer.Beta2, AdamOptimizer.Epsilon, step);
        double sqErrSum = 0, auxErrSum = 0;
        double[] squaredErrorS, varianceS;
        fixed (T* gradRowsX = state.GradRowsX)
        fixed (T* sqErr = state.SqErrB)
        fixed (T* auxErr = state.AuxErrB)
        {
            SparseKernels.Decode(x, bDecP, wDecP, rows, width, state.Main, aux, T.CreateChecked(auxKCoefficient), gradRowsX, sqErr, auxErr, state.GradSumParts);
            timings?.Lap(3);
            SparseKernels.BucketByLatent(state.Main, aux, latents, state.Buckets, (float*)TensorMemory.Address(firedL));
            timings?.Lap(4);
            if (state.GPreP.Length < state.Buckets.Count) state.GPreP = new T[state.Buckets.Count];
            CrosscoderKernels.DecoderUpdate(state.Buckets, gradRowsX, latents, width, wDecP, bEncP,
                Ptr<T>(_adam.FirstMoment(1)), Ptr<T>(_adam.SecondMoment(1)), Ptr<T>(_adam.FirstMoment(2)), Ptr<T>(_adam.SecondMoment(2)), adam, state.GPreP);
            timings?.Lap(5);
            if (_encoderGradient == EncoderGradientMode.Sparse)
            {
                CrosscoderKernels.EncoderUpdate(state.Buckets, state.GPreP, x, width, latents, wEncP, Ptr<T>(_adam.FirstMoment(0)), Ptr<T>(_adam.SecondMoment(0)), adam);
            }
            else
            {
                // The pre-activations are spent: their buffer holds G.
                _preBL.zero_();
                CrosscoderKernels.ScatterPreGradients(state.Buckets, state.GPreP, latents, pre);
                _gradEncXL ??= empty([width, latents], xBX.dtype).DetachFromDisposeScope();
                using (var xXB = xBX.t()) _gradEncXL.addmm_(xXB, _preBL, beta: 0, alpha: 1);
                CrosscoderKernels.AdamDense(wEncP, Ptr<T>(_gradEncXL), Ptr<T>(_adam.FirstMoment(0)), Ptr<T>(_adam.SecondMoment(0)), (long)width * latents, adam);
            }
            timings?.Lap(6);

            // ∇b_dec = Σ_b g_b (the AuxK decode has no b_dec), reduced in fixed chunk order.
            var gBDec = new T[width];
            for (int c = 0; c < chunks; c++) for (int j = 0; j < width; j++) gBDec[j] += state.GradSumParts[c * width + j];
            fixed (T* g = gBDec) SparseKernels.AdamRow(bDecP, g, Ptr<T>(_adam.FirstMoment(3)), Ptr<T>(_adam.SecondMoment(3)), width, adam);

            for (int b = 0; b < rows; b++) sqErrSum += double.CreateChecked(sqErr[b]);
            if (aux is not null) for (int b = 0; b < rows; b++) auxErrSum += double.CreateChecked(auxErr[b]);
            (squaredErrorS, varianceS) = SourceMetrics(gradRowsX, x, rows, sources, dim);
        }

        var main = state.Main;
        T minKey = T.PositiveInfinity;
        for (int b = 0; b < rows; b++)
            for (int p = main.RowStart[b]; p < main.RowStart[b + 1]; p++)
            {
                T key = CrosscoderKernels.Key(main.Value[p], state.NormSumL[main.Latent[p]]);
                if (key > T.Zero && key < minKey) minKey = key;
            }
        double recon = sqErrSum / rows, auxLoss = auxErrSum / rows;
        double loss = main.NonFinite ? double.NaN : recon + auxKCoefficient * auxLoss;
        var dtype = xBX.dtype;
        var result = new StepResult(
            tensor(loss, dtype), tensor(recon, dtype), zeros([], dtype), tensor(auxLoss, dtype),
            tensor(squaredErrorS), tensor(varianceS), tensor(main.Count / (double)rows),
            firedL, T.IsPositiveInfinity(minKey) ? null : tensor(double.CreateChecked(minKey), dtype));
        timings?.Lap(7);
        if (timings is not null) timings.Steps++;
        return result;
    }

    /// <summary>
    /// Per source, the squared error Σ_b ‖e_b^s‖² recovered from the main gradient rows g = 2e/B, and the FVU
    /// denominator Σ_b ‖x_b^s − mean_B(x^s)‖² (two passes); in double over fixed row chunks merged in order.
    /// </summary>
    private static unsafe (double[] SquaredErrorS, double[] VarianceS) SourceMetrics<T>(T* gradBX, T* xBX, int rows, int sources, int dim)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int width = sources * dim, chunks = TopKKernels.ChunkCount(rows);
        double toError = rows / 2.0;
        var sumParts = new double[chunks * width];
        var errorParts = new double[chunks * sources];
        var varianceParts = new double[chunks * sources];
        CrosscoderKernels.ForChunks(chunks, (long)rows * width, c =>
        {
            var (r0, r1) = TopKKernels.ChunkRange(c, rows);
            for (long b = r0; b < r1; b++)
                for (int si = 0; si < sources; si++)
                {
                    double error = 0;
                    for (int j = si * dim; j < (si + 1) * dim; j++)
                    {
                        sumParts[c * width + j] += double.CreateTruncating(xBX[b * width + j]);
                        double e = double.CreateTruncating(gradBX[b * width + j]) * toError;
                        error += e * e;
                    }
                    errorParts[c * sources + si] += error;
                }
        });
        var mean = new double[width];
        for (int c = 0; c < chunks; c++) for (int j = 0; j < width; j++) mean[j] += sumParts[c * width + j];
        for (int j = 0; j < width; j++) mean[j] /= rows;
        CrosscoderKernels.ForChunks(chunks, (long)rows * width, c =>
        {
            var (r0, r1) = TopKKernels.ChunkRange(c, rows);
            for (long b = r0; b < r1; b++)
                for (int si = 0; si < sources; si++)
                {
                    double variance = 0;
                    for (int j = si * dim; j < (si + 1) * dim; j++)
                    {
                        double dev = double.CreateTruncating(xBX[b * width + j]) - mean[j];
                        variance += dev * dev;
                    }
                    varianceParts[c * sources + si] += variance;
                }
        });
        var squaredErrorS = new double[sources];
        var varianceS = new double[sources];
        for (int c = 0; c < chunks; c++)
            for (int si = 0; si < sources; si++) { squaredErrorS[si] += errorParts[c * sources + si]; varianceS[si] += varianceParts[c * sources + si]; }
        return (squaredErrorS, varianceS);
    }

    private static unsafe T* Ptr<T>(Tensor t) where T : unmanaged => (T*)TensorMemory.Address(t);

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState() => _adam.State();

    /// <inheritdoc />
    public void LoadOptimizerState(IReadOnlyDictionary<string, Tensor> state) => _adam.Load(state);

    /// <inheritdoc />
    public void Dispose()
    {
        _preBL?.Dispose(); _gradEncXL?.Dispose();
        _adam.Dispose();
    }
}
