using System.Numerics;
using System.Runtime.InteropServices;
using SaeSharp.Internals;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Training.Fused;

/// <summary>
/// The TopK / BatchTopK training step with a hand-derived sparse backward (see <see cref="ITrainingStep"/>
/// for the loss, AuxK, Adam and decoder-constraint definitions it implements exactly).
/// Forward: xc = x − b_dec; pre = xc·W_encᵀ + b_enc (the one dense product); select S_b; z = relu(pre[S_b]);
/// x̂ = b_dec + Σ_{i∈S_b} z_i W_dec[i]. Backward with g = 2(x̂ − x)/B (plus the AuxK rows):
/// g_pre[b,i] = ⟨g_b, W_dec[i]⟩·[z_i &gt; 0]; ∇W_dec[i] = Σ_b z_{b,i} g_b; ∇W_enc[i] = Σ_b g_pre[b,i] xc_b;
/// ∇b_enc[i] = Σ_b g_pre[b,i]; ∇b_dec = Σ_b g_b − Σ_i ∇b_enc[i] W_enc[i] (b_dec also enters through the centring).
/// Only the selected latents' rows are touched by gradients; Adam still updates every row (moments decay).
/// Parameters are updated in place in the latent-major layout (W_enc as [L, D]).
/// </summary>
public sealed class FusedTopKTrainingStep : ITrainingStep
{
    readonly Tensor wEncLD, bEncL, wDecLD, bDecD;
    readonly Tensor mWEnc, vWEnc, mBEnc, vBEnc, mWDec, vWDec, mBDec, vBDec;
    readonly FusedTopKOptions options;
    readonly string[] names;
    readonly int latents, dim;
    long step;
    Tensor? preBL, xcBuffer;
    object? cpuState;

    /// <summary>Trains <paramref name="sae"/>'s own parameters in place (TopK or BatchTopK) with the CPU kernels, or libtorch operations on other devices.</summary>
    public FusedTopKTrainingStep(Sae sae)
        : this(sae, FusedBackend.Auto)
    {
    }

    internal FusedTopKTrainingStep(Sae sae, FusedBackend backend)
        : this(sae.EncoderWeightLD, sae.EncoderBiasL, sae.DecoderWeightLD, sae.DecoderBiasD, FusedTopKOptions.For(sae, backend))
    {
    }

    /// <summary>Wraps the parameters (updated in place): W_enc <c>[L, D]</c>, b_enc <c>[L]</c>, W_dec <c>[L, D]</c>, b_dec <c>[D]</c>.</summary>
    internal FusedTopKTrainingStep(Tensor wEncLD, Tensor bEncL, Tensor wDecLD, Tensor bDecD, FusedTopKOptions options)
    {
        // Training-state names as AdamOptimizer writes them for Sae.TrainableParameters, so either step resumes the other.
        names = ["W_enc_LD", "b_enc", "W_dec", "b_dec"];
        latents = (int)wEncLD.shape[0];
        dim = (int)wEncLD.shape[1];
        if (wEncLD.ndim != 2 || !wDecLD.shape.SequenceEqual(wEncLD.shape) || bEncL.shape.SequenceEqual(new long[] { latents }) is false
            || bDecD.shape.SequenceEqual(new long[] { dim }) is false)
            throw new ArgumentException($"parameter shapes disagree: W_enc {Shape(wEncLD)}, b_enc {Shape(bEncL)}, W_dec {Shape(wDecLD)}, b_dec {Shape(bDecD)}");
        if (options.K < 1 || options.K > latents)
            throw new ArgumentOutOfRangeException(nameof(options), options.K, $"K must be in [1, {latents}]");
        this.wEncLD = wEncLD; this.bEncL = bEncL; this.wDecLD = wDecLD; this.bDecD = bDecD;
        this.options = options;
        using (no_grad())
        {
            mWEnc = Moment(wEncLD); vWEnc = Moment(wEncLD); mBEnc = Moment(bEncL); vBEnc = Moment(bEncL);
            mWDec = Moment(wDecLD); vWDec = Moment(wDecLD); mBDec = Moment(bDecD); vBDec = Moment(bDecD);
        }

        static Tensor Moment(Tensor p) => zeros_like(p).DetachFromDisposeScope();
        static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
    }

    /// <summary>When set, each step adds its per-part wall time here (forces a sync per part on CUDA).</summary>
    public StepTimings? Timings { get; set; }

    /// <summary>Adam steps taken so far.</summary>
    public long StepCount => step;

    bool UseKernels => options.Backend switch
    {
        FusedBackend.Kernels => true,
        FusedBackend.LibTorch => false,
        _ => wEncLD.device_type == DeviceType.CPU,
    };

    /// <inheritdoc />
    public StepResult Step(Tensor xBD, StepSettings settings)
    {
        using var noGrad = no_grad();
        step++;
        if (!UseKernels) return FusedTorchOps.Step(this, xBD, settings);
        return xBD.dtype switch
        {
            ScalarType.Float32 => KernelStep<float>(xBD, settings),
            ScalarType.Float64 => KernelStep<double>(xBD, settings),
            _ => throw new ArgumentException($"the fused step supports float32 and float64, got {xBD.dtype}"),
        };
    }

    internal (Tensor WEnc, Tensor BEnc, Tensor WDec, Tensor BDec) Parameters => (wEncLD, bEncL, wDecLD, bDecD);
    internal (Tensor M, Tensor V)[] Moments => [(mWEnc, vWEnc), (mBEnc, vBEnc), (mWDec, vWDec), (mBDec, vBDec)];
    internal FusedTopKOptions Options => options;
    internal long CurrentStep => step;

    /// <summary>Buffers the CPU kernels reuse from step to step.</summary>
    sealed class CpuState<T> where T : unmanaged
    {
        public readonly SparseSelection<T> Main = new(), Aux = new();
        public readonly LatentBuckets<T> Buckets = new();
        public T[] GradRowsD = [];
        public T[] SqErrB = [], AuxErrB = [];
        public T[] GradSumParts = [], BDecParts = [];
    }

    unsafe StepResult KernelStep<T>(Tensor xInput, StepSettings settings) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var timings = Timings;
        timings?.Start();
        int rows = (int)xInput.shape[0];
        if (xInput.ndim != 2 || xInput.shape[1] != dim) throw new ArgumentException($"x must be [B, {dim}], got [{string.Join(", ", xInput.shape)}]");
        var state = cpuState as CpuState<T> ?? new CpuState<T>();
        cpuState = state;
        using var xBD = xInput.contiguous();
        if (preBL is null || preBL.shape[0] != rows || preBL.dtype != xBD.dtype)
        {
            preBL?.Dispose(); xcBuffer?.Dispose();
            preBL = empty([rows, latents], xBD.dtype).DetachFromDisposeScope();
            xcBuffer = empty([rows, dim], xBD.dtype).DetachFromDisposeScope();
        }
        var xcBD = xBD;
        if (options.CentreInput)
        {
            SparseKernels.Centre((T*)TensorMemory.Address(xBD), (T*)TensorMemory.Address(bDecD), (T*)TensorMemory.Address(xcBuffer!), rows, dim);
            xcBD = xcBuffer!;
        }
        timings?.Lap(0);

        using (var wEncDL = wEncLD.t()) preBL.addmm_(xcBD, wEncDL, beta: 0, alpha: 1);
        timings?.Lap(1);

        T* pre = (T*)TensorMemory.Address(preBL), bEnc = (T*)TensorMemory.Address(bEncL);
        int k = options.K;
        if (options.Selection == TopKSelection.TopK) TopKKernels.TopKPerRow(pre, bEnc, rows, latents, k, state.Main);
        else TopKKernels.BatchTopK(pre, bEnc, rows, latents, checked(rows * k), state.Main);
        timings?.Lap(2);

        var dead = DeadLatents(settings.DeadMaskL);
        int auxK = settings.AuxKCoefficient == 0 ? 0 : Math.Min(settings.AuxKLatents, dead.Length);
        SparseSelection<T>? aux = null;
        if (auxK > 0)
        {
            TopKKernels.TopKPerRowAmong(pre, bEnc, rows, latents, dead, auxK, state.Aux, descending: true);
            aux = state.Aux;
        }
        timings?.Lap(3);

        int gradRows = aux is null ? rows : 2 * rows;
        int chunks = TopKKernels.ChunkCount(rows), latentChunks = SparseKernels.LatentChunkCount(latents);
        if (state.GradRowsD.Length < gradRows * dim) state.GradRowsD = GC.AllocateUninitializedArray<T>(gradRows * dim, pinned: true);
        if (state.SqErrB.Length < rows) { state.SqErrB = new T[rows]; state.AuxErrB = new T[rows]; }
        if (state.GradSumParts.Length < chunks * dim) state.GradSumParts = new T[chunks * dim];
        if (state.BDecParts.Length < latentChunks * dim) state.BDecParts = new T[latentChunks * dim];
        T auxCoefficient = T.CreateChecked(settings.AuxKCoefficient);
        T* x = (T*)TensorMemory.Address(xBD), xc = (T*)TensorMemory.Address(xcBD);
        T* wEnc = (T*)TensorMemory.Address(wEncLD), wDec = (T*)TensorMemory.Address(wDecLD), bDec = (T*)TensorMemory.Address(bDecD);
        fixed (T* gradRowsD = state.GradRowsD)
        fixed (T* sqErr = state.SqErrB)
        fixed (T* auxErr = state.AuxErrB)
        {
            SparseKernels.Decode(x, bDec, wDec, rows, dim, state.Main, aux, auxCoefficient, gradRowsD, sqErr, auxErr, state.GradSumParts);
            timings?.Lap(4);

            var firedL = zeros(latents, ScalarType.Float32);
            SparseKernels.BucketByLatent(state.Main, aux, latents, state.Buckets, (float*)TensorMemory.Address(firedL));
            timings?.Lap(5);

            var adam = AdamCoefficients<T>.Create(settings.LearningRate, options.Beta1, options.Beta2, options.Epsilon, step);
            SparseKernels.LatentUpdate(state.Buckets, gradRowsD, xc, latents, dim, wEnc, bEnc, wDec,
                Ptr<T>(mWEnc), Ptr<T>(vWEnc), Ptr<T>(mBEnc), Ptr<T>(vBEnc), Ptr<T>(mWDec), Ptr<T>(vWDec),
                adam, options.UnitNormDecoder, state.BDecParts);
            timings?.Lap(6);

            // ∇b_dec = Σ_b g_b − Σ_i ∇b_enc[i]·W_enc[i], reduced in fixed chunk order.
            var gBDec = new T[dim];
            for (int c = 0; c < chunks; c++) for (int j = 0; j < dim; j++) gBDec[j] += state.GradSumParts[c * dim + j];
            if (options.CentreInput)
                for (int c = 0; c < latentChunks; c++) for (int j = 0; j < dim; j++) gBDec[j] -= state.BDecParts[c * dim + j];
            fixed (T* g = gBDec) SparseKernels.AdamRow(bDec, g, Ptr<T>(mBDec), Ptr<T>(vBDec), dim, adam);
            timings?.Lap(7);

            double sqErrSum = 0, auxErrSum = 0;
            for (int b = 0; b < rows; b++) sqErrSum += double.CreateChecked(sqErr[b]);
            if (aux is not null) for (int b = 0; b < rows; b++) auxErrSum += double.CreateChecked(auxErr[b]);
            int active = state.Buckets.Count - (aux is null ? 0 : CountPositive(aux));
            T? minSelected = null;
            if (options.Selection == TopKSelection.BatchTopK)
            {
                T min = T.PositiveInfinity;
                for (int p = 0; p < state.Main.Count; p++) if (state.Main.Value[p] > T.Zero && state.Main.Value[p] < min) min = state.Main.Value[p];
                if (!T.IsPositiveInfinity(min)) minSelected = min;
            }
            double recon = sqErrSum / rows, auxLoss = auxErrSum / rows;
            double loss = state.Main.NonFinite ? double.NaN : recon + settings.AuxKCoefficient * auxLoss;
            var result = Metrics(xBD, loss, recon, 0, auxLoss, sqErrSum, (double)active / rows, firedL,
                minSelected is null ? null : double.CreateChecked(minSelected.Value), SparseKernels.VarianceSum(x, rows, dim));
            timings?.Lap(8);
            if (timings is not null) timings.Steps++;
            return result;
        }
    }

    static int CountPositive<T>(SparseSelection<T> selection) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = 0;
        for (int p = 0; p < selection.Count; p++) if (selection.Value[p] > T.Zero) n++;
        return n;
    }

    static unsafe T* Ptr<T>(Tensor t) where T : unmanaged => (T*)TensorMemory.Address(t);

    /// <summary>Indices of the latents marked dead, in increasing order.</summary>
    internal static int[] DeadLatents(Tensor deadMaskL)
    {
        using var cpu = deadMaskL.to(DeviceType.CPU).to_type(ScalarType.Bool).contiguous();
        var mask = MemoryMarshal.Cast<byte, bool>(cpu.bytes);
        var dead = new List<int>();
        for (int i = 0; i < mask.Length; i++) if (mask[i]) dead.Add(i);
        return dead.ToArray();
    }

    /// <summary>The step's result as 0-dim tensors of x's dtype on x's device (FiredCountsL float32).</summary>
    internal static StepResult Metrics(Tensor xBD, double loss, double recon, double sparsity, double auxLoss, double sqErrSum,
        double l0, Tensor firedL, double? minSelected, double? varianceSum = null)
    {
        var device = xBD.device; var dtype = xBD.dtype;
        Tensor variance;
        if (varianceSum is { } v) variance = Scalar(v);
        else
        {
            using var meanD = xBD.mean([0L], keepdim: true);
            variance = (xBD - meanD).pow(HeldScalars.Two).sum();
        }
        return new StepResult(Scalar(loss), Scalar(recon), Scalar(sparsity), Scalar(auxLoss), Scalar(sqErrSum),
            variance, Scalar(l0), firedL.to(device), minSelected is null ? null : Scalar(minSelected.Value));

        Tensor Scalar(double v) => tensor(v, dtype, device);
    }

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState()
    {
        var state = new List<(string, Tensor)>();
        var moments = Moments;
        for (int i = 0; i < names.Length; i++)
        {
            state.Add(($"adam.m.{names[i]}", moments[i].M));
            state.Add(($"adam.v.{names[i]}", moments[i].V));
        }
        state.Add(("adam.step", tensor(step)));
        return state;
    }

    /// <inheritdoc />
    public void LoadOptimizerState(IReadOnlyDictionary<string, Tensor> state)
    {
        using var noGrad = no_grad();
        foreach (var (name, target) in OptimizerState())
        {
            if (name == "adam.step") { target.Dispose(); continue; }
            target.copy_(TrainingState.RequiredLike(state, name, target));
        }
        step = TrainingState.RequiredStepCount(state);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        preBL?.Dispose(); xcBuffer?.Dispose();
        foreach (var (m, v) in Moments) { m.Dispose(); v.Dispose(); }
    }
}
