using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// Rows held in memory, served in a seeded random order that is reshuffled every epoch (epoch e uses seed + e),
/// so a resumed run sees the same rows.
/// </summary>
public sealed class InMemoryActivationSource : IActivationSource
{
    private readonly Tensor _rowsND;
    private readonly long _seed;
    private long[] _order = [];
    private long _orderEpoch = -1;

    /// <summary>Wraps a copy of <paramref name="rowsND"/> <c>[N, D]</c>.</summary>
    /// <param name="rowsND">Activation rows, float32 <c>[N, D]</c>, N ≥ 1.</param>
    /// <param name="seed">Seed of the shuffling.</param>
    /// <param name="shuffle">Whether to shuffle (false: rows in order, epoch after epoch).</param>
    /// <exception cref="SaeSharpException">The tensor is not a non-empty 2-D tensor.</exception>
    public InMemoryActivationSource(Tensor rowsND, long seed = 0, bool shuffle = true)
    {
        if (rowsND.dim() != 2 || rowsND.shape[0] < 1 || rowsND.shape[1] < 1)
            throw new SaeSharpException($"rows must be a non-empty [N, D] tensor, got [{string.Join(", ", rowsND.shape)}]", field: "rows");
        _rowsND = rowsND.detach().to(ScalarType.Float32).cpu().contiguous().clone().DetachFromDisposeScope();
        _seed = seed;
        Shuffle = shuffle;
    }

    /// <summary>Whether rows come in a shuffled order.</summary>
    public bool Shuffle { get; }

    /// <inheritdoc />
    public int InputDim => (int)_rowsND.shape[1];

    /// <inheritdoc />
    public long Position { get; private set; }

    /// <inheritdoc />
    public long? RowCount => _rowsND.shape[0];

    /// <inheritdoc />
    public Tensor NextBatch(int batchSize)
    {
        if (batchSize < 1) throw new SaeSharpException($"batch size {batchSize} must be at least 1", field: "batch_size");
        long n = _rowsND.shape[0];
        var indices = new long[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            long global = Position + i;
            long epoch = global / n, offset = global % n;
            indices[i] = Shuffle ? OrderFor(epoch)[offset] : offset;
        }
        Position += batchSize;
        using var index = tensor(indices);
        return _rowsND.index_select(0, index);
    }

    /// <inheritdoc />
    public void Seek(long position)
    {
        if (position < 0) throw new SaeSharpException($"position {position} must be 0 or more", field: "position");
        Position = position;
    }

    private long[] OrderFor(long epoch)
    {
        if (epoch == _orderEpoch) return _order;
        // Random(int) is the seeded, stable algorithm: the same order in every process.
        var random = new Random(unchecked((int)((ulong)(_seed * 1_000_003 + epoch) * 0x9E3779B97F4A7C15UL >> 33)));
        var order = new long[_rowsND.shape[0]];
        for (long i = 0; i < order.Length; i++) order[i] = i;
        random.Shuffle(order);
        _order = order;
        _orderEpoch = epoch;
        return order;
    }

    /// <inheritdoc />
    public void Dispose() => _rowsND.Dispose();
}
