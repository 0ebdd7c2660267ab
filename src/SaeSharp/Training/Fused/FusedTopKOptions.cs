namespace SaeSharp.Training.Fused;

/// <summary>Which TopK-family selection the fused step performs.</summary>
internal enum TopKSelection
{
    /// <summary>The k largest pre-activations of each row, then ReLU.</summary>
    TopK,

    /// <summary>ReLU, then the B·k largest activations of the whole batch.</summary>
    BatchTopK,
}

/// <summary>How the fused step runs: our CPU kernels, or libtorch operations (any device, e.g. CUDA).</summary>
internal enum FusedBackend
{
    /// <summary>CPU tensors: <see cref="SparseKernels"/>; other devices: libtorch operations.</summary>
    Auto,

    /// <summary>Our vectorised CPU kernels over the tensors' memory (CPU only).</summary>
    Kernels,

    /// <summary>The same math as libtorch operations (gather, index_add_); what CUDA tensors use.</summary>
    LibTorch,
}

/// <summary>Fixed settings of a <see cref="FusedTopKTrainingStep"/>.</summary>
/// <param name="Selection">TopK or BatchTopK.</param>
/// <param name="K">Active latents per row (BatchTopK: on average).</param>
/// <param name="Beta1">Adam β1.</param>
/// <param name="Beta2">Adam β2.</param>
/// <param name="Epsilon">Adam ε.</param>
/// <param name="UnitNormDecoder">Keep decoder rows at unit norm (gradient projection before Adam, renormalisation after).</param>
/// <param name="Backend">Which implementation runs the sparse parts.</param>
internal sealed record FusedTopKOptions(
    TopKSelection Selection, int K, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8,
    bool UnitNormDecoder = true, FusedBackend Backend = FusedBackend.Auto);
