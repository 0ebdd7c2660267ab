using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// The latent activations z <c>[N, L]</c> of N rows, read in row batches so that analyses never hold the whole
/// matrix when it is computed: either slices of a tensor already in memory, or an SAE's code of activation rows
/// x <c>[N, D]</c> encoded batch by batch (N = 300k tokens by L = 8k latents would be 9.6 GB as one tensor).
/// Does not own the tensors it reads; the caller keeps them alive and disposes them.
/// </summary>
public sealed class LatentActivations
{
    private readonly Tensor _rows;
    private readonly Sae? _sae;
    private readonly double _activationScale;

    private LatentActivations(Tensor rows, Sae? sae, double activationScale, int batchSize, long latentCount)
    {
        if (batchSize < 1) throw new SaeSharpException($"batch size {batchSize} must be at least 1", field: "batch_size");
        _rows = rows;
        _sae = sae;
        _activationScale = activationScale;
        BatchSize = batchSize;
        RowCount = rows.shape[0];
        LatentCount = (int)latentCount;
    }

    /// <summary>Latent activations already computed, <c>[N, L]</c> (any floating dtype, any device).</summary>
    /// <param name="latentsNL">The activations; not copied.</param>
    /// <param name="batchSize">Rows per batch handed to an analysis (default 4096).</param>
    /// <exception cref="SaeSharpException">The tensor is not a 2-D floating tensor with at least one row and column.</exception>
    public static LatentActivations FromTensor(Tensor latentsNL, int batchSize = 4096)
    {
        CheckMatrix(latentsNL, "latents");
        return new LatentActivations(latentsNL, null, 1.0, batchSize, latentsNL.shape[1]);
    }

    /// <summary>The SAE's code (inference rule) of activation rows <c>[N, D]</c>, encoded a batch at a time.</summary>
    /// <param name="sae">The SAE; switched to eval mode when read.</param>
    /// <param name="activationsND">Host activations, width <see cref="Sae.InputDim"/>; not copied.</param>
    /// <param name="activationScale">Factor applied to rows before the SAE (1 for saved SAEs, whose weights act on raw activations).</param>
    /// <param name="batchSize">Rows encoded at a time (default 4096).</param>
    /// <exception cref="SaeSharpException">The widths differ, the tensor is not a non-empty matrix, or the scale is not finite and positive.</exception>
    public static LatentActivations FromSae(Sae sae, Tensor activationsND, double activationScale = 1.0, int batchSize = 4096)
    {
        CheckMatrix(activationsND, "activations");
        if (activationsND.shape[1] != sae.InputDim)
            throw new SaeSharpException($"rows have width {activationsND.shape[1]} but the SAE reads {sae.InputDim}", field: "activations");
        if (!(activationScale > 0 && double.IsFinite(activationScale)))
            throw new SaeSharpException($"activation scale {activationScale} must be finite and positive", field: "activation_scale");
        return new LatentActivations(activationsND, sae, activationScale, batchSize, sae.LatentCount);
    }

    /// <summary>Rows N.</summary>
    public long RowCount { get; }

    /// <summary>Latents L.</summary>
    public int LatentCount { get; }

    /// <summary>Rows per batch.</summary>
    public int BatchSize { get; }

    /// <summary>
    /// The rows in order as float32 CPU batches <c>[B, L]</c>, each checked finite. A yielded batch is disposed when
    /// the next is requested; callers copy what they keep.
    /// </summary>
    /// <exception cref="SaeSharpException">A batch holds NaN or ±∞ (names the first bad row).</exception>
    internal IEnumerable<(long Start, Tensor BatchBL)> Batches()
    {
        if (_sae is not null) _sae.eval();
        for (long start = 0; start < RowCount; start += BatchSize)
        {
            long length = Math.Min(BatchSize, RowCount - start);
            Tensor batch;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var sliceBX = _rows.narrow(0, start, length);
                if (_sae is null)
                {
                    batch = sliceBX.to(ScalarType.Float32).cpu().contiguous().MoveToOuterDisposeScope();
                }
                else
                {
                    var xBD = sliceBX.to(_sae.EncoderWeightLD.dtype).to(_sae.EncoderWeightLD.device);
                    if (_activationScale != 1.0)
                    {
                        using var scale = _activationScale.ToScalar();
                        xBD = xBD.mul(scale);
                    }
                    batch = _sae.Encode(xBD).to(ScalarType.Float32).cpu().contiguous().MoveToOuterDisposeScope();
                }
            }
            try
            {
                CheckFinite(batch, start);
            }
            catch
            {
                batch.Dispose();
                throw;
            }
            using (batch)
                yield return (start, batch);
        }
    }

    private static void CheckFinite(Tensor batchBL, long start)
    {
        using var scope = NewDisposeScope();
        var badB = batchBL.isfinite().logical_not().any(1);
        if (!badB.any().item<bool>()) return;
        long row = start + badB.nonzero()[0, 0].item<long>();
        throw new SaeSharpException($"latent activations are not finite (NaN or ±∞) at row {row}", field: "latents");
    }

    private static void CheckMatrix(Tensor t, string field)
    {
        if (t.dim() != 2 || t.shape[0] < 1 || t.shape[1] < 1)
            throw new SaeSharpException($"expected a non-empty [N, columns] tensor, got [{string.Join(", ", t.shape)}]", field: field);
        if (!t.is_floating_point())
            throw new SaeSharpException($"expected a floating-point tensor, got {t.dtype}", field: field);
    }
}
