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
/// <param name="CentreInput">Subtract b_dec from the input before encoding (SAELens' apply_b_dec_to_input).</param>
internal sealed record FusedTopKOptions(
    TopKSelection Selection, int K, double Beta1 = AdamOptimizer.Beta1, double Beta2 = AdamOptimizer.Beta2,
    double Epsilon = AdamOptimizer.Epsilon, bool UnitNormDecoder = true, FusedBackend Backend = FusedBackend.Auto,
    bool CentreInput = true)
{
    /// <summary>The options that reproduce <paramref name="sae"/>'s training rule (TopK family only).</summary>
    public static FusedTopKOptions For(Sae sae, FusedBackend backend = FusedBackend.Auto) => sae.Config.Architecture switch
    {
        TopKArchitecture topK => new(TopKSelection.TopK, topK.K, UnitNormDecoder: topK.UnitNormDecoder, Backend: backend,
            CentreInput: sae.Config.ApplyDecoderBiasToInput),
        BatchTopKArchitecture batch => new(TopKSelection.BatchTopK, batch.K, UnitNormDecoder: batch.UnitNormDecoder, Backend: backend,
            CentreInput: sae.Config.ApplyDecoderBiasToInput),
        var other => throw new SaeSharpException($"the fused step serves the TopK family only, not {other.GetType().Name}", field: "step_kind"),
    };
}
