using static TorchSharp.torch;

namespace SaeSharp.Hosts;

/// <summary>
/// The attention keys and values a <see cref="HostTransformer"/> has computed for the positions it has already read,
/// so that <see cref="HostTransformer.ForwardIncremental"/> computes each new token at the cost of one position instead
/// of the whole prefix. Per layer it holds K and V <c>[B, H, ContextLength, Dh]</c> (float32), filled for the first
/// <see cref="Length"/> positions. Made by <see cref="HostTransformer.CreateKvCache"/>; for inference only (the stored
/// keys carry no autograd graph). Owns its tensors: dispose it.
/// </summary>
public sealed class HostKvCache : IDisposable
{
    private readonly Tensor[] _keysBHCd;
    private readonly Tensor[] _valuesBHCd;
    private bool _disposed;

    internal HostKvCache(object owner, HostConfig config, int batchSize, Device device)
    {
        Owner = owner;
        long[] shape = [batchSize, config.HeadCount, config.ContextLength, config.HeadDim];
        _keysBHCd = new Tensor[config.LayerCount];
        _valuesBHCd = new Tensor[config.LayerCount];
        for (int i = 0; i < config.LayerCount; i++)
        {
            // Outside any dispose scope: the cache lives across the caller's per-step scopes.
            _keysBHCd[i] = zeros(shape, ScalarType.Float32, device).DetachFromDisposeScope();
            _valuesBHCd[i] = zeros(shape, ScalarType.Float32, device).DetachFromDisposeScope();
        }
        BatchSize = batchSize;
        Capacity = config.ContextLength;
    }

    /// <summary>The model that made the cache: only its keys and values fit.</summary>
    internal object Owner { get; }

    /// <summary>The rows (sequences) the cache holds.</summary>
    public int BatchSize { get; private set; }

    /// <summary>The positions already read: the next token is at this position.</summary>
    public int Length { get; private set; }

    /// <summary>The most positions it can hold: the model's context length.</summary>
    public int Capacity { get; }

    /// <summary>
    /// Keeps only the given rows, in the given order (e.g. the sequences that are not finished), so that the next
    /// forward pass runs on those rows alone.
    /// </summary>
    /// <exception cref="SaeSharpException">A row is out of range.</exception>
    public void KeepRows(IReadOnlyList<long> rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var row in rows)
            if (row < 0 || row >= BatchSize)
                throw new SaeSharpException($"row {row} is out of range; the cache holds {BatchSize} rows", field: "rows");
        using var indices = tensor(rows.ToArray(), ScalarType.Int64, _keysBHCd[0].device);
        for (int i = 0; i < _keysBHCd.Length; i++)
        {
            var keys = _keysBHCd[i].index_select(0, indices).DetachFromDisposeScope();
            var values = _valuesBHCd[i].index_select(0, indices).DetachFromDisposeScope();
            _keysBHCd[i].Dispose();
            _valuesBHCd[i].Dispose();
            _keysBHCd[i] = keys;
            _valuesBHCd[i] = values;
        }
        BatchSize = rows.Count;
    }

    /// <summary>
    /// Writes layer <paramref name="layer"/>'s keys and values of the new positions <c>[B, H, N, Dh]</c> at
    /// <see cref="Length"/> and returns views of all keys and values so far, <c>[B, H, Length + N, Dh]</c>.
    /// <see cref="Length"/> moves only in <see cref="Advance"/>, after every layer has written, so a pass that fails
    /// half-way leaves the cache as it was.
    /// </summary>
    internal (Tensor KeysBHTd, Tensor ValuesBHTd) Append(int layer, Tensor newKeysBHNd, Tensor newValuesBHNd)
    {
        long n = newKeysBHNd.shape[2];
        using (no_grad())
        {
            _keysBHCd[layer].narrow(2, Length, n).copy_(newKeysBHNd);
            _valuesBHCd[layer].narrow(2, Length, n).copy_(newValuesBHNd);
        }
        return (_keysBHCd[layer].narrow(2, 0, Length + n), _valuesBHCd[layer].narrow(2, 0, Length + n));
    }

    internal void Advance(int positions) => Length += positions;

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _keysBHCd) t.Dispose();
        foreach (var t in _valuesBHCd) t.Dispose();
    }
}
