using System.Collections.Concurrent;
using SaeSharp.Harvest.Internals;
using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Harvest.Store;

/// <summary>
/// Feeds a trainer from one hook of an <see cref="ActivationStore"/>. The order is a pure function of the seed and the
/// position: each epoch permutes the store's chunks (so a shuffle buffer mixes rows from many shards), groups them into
/// buffers of <see cref="StoreSourceOptions.ShuffleBufferRows"/> rows and permutes each buffer; <see cref="Seek"/>
/// jumps straight to any position. A background thread gathers the next batches from the memory-mapped shards.
/// Endless: after the last row of an epoch the next epoch starts with a new permutation.
/// </summary>
public sealed class StoreActivationSource : IActivationSource
{
    private readonly ActivationStore _store;
    private readonly bool _ownsStore;
    private readonly int _hook;
    private readonly StoreSourceOptions _options;
    private readonly long _rows;
    private readonly long _chunks;
    private readonly int _chunksPerWindow;
    private long _planEpoch = -1;
    private long[] _chunkOrder = Array.Empty<long>();
    private long[] _windowStart = Array.Empty<long>();
    private (long Epoch, long Window, int[] Order) _windowPlan = (-1, -1, Array.Empty<int>());
    private readonly object _planGate = new();
    private Prefetcher? _prefetcher;

    /// <summary>A source over hook <paramref name="hookName"/> of an open store (the caller keeps ownership of the store).</summary>
    /// <exception cref="SaeSharpException">The hook is absent, the store is empty, or an option is out of range.</exception>
    public StoreActivationSource(ActivationStore store, string hookName, StoreSourceOptions? options = null)
        : this(store, hookName, options ?? new StoreSourceOptions(), ownsStore: false)
    {
    }

    private StoreActivationSource(ActivationStore store, string hookName, StoreSourceOptions options, bool ownsStore)
    {
        options.Validate();
        _store = store;
        _ownsStore = ownsStore;
        _options = options;
        _hook = store.HookIndex(hookName);
        _rows = store.Rows;
        if (_rows == 0) throw new SaeSharpException("the store holds no rows yet", store.Path);
        InputDim = store.Hooks[_hook].D;
        _chunks = (_rows + options.ChunkRows - 1) / options.ChunkRows;
        _chunksPerWindow = Math.Max(1, options.ShuffleBufferRows / options.ChunkRows);
    }

    /// <summary>Opens the store at <paramref name="storePath"/> and reads hook <paramref name="hookName"/>; disposing the source closes the store.</summary>
    /// <exception cref="SaeSharpException">The store or hook is missing or malformed.</exception>
    public static StoreActivationSource Open(string storePath, string hookName, StoreSourceOptions? options = null)
    {
        var store = ActivationStore.Open(storePath);
        try { return new StoreActivationSource(store, hookName, options ?? new StoreSourceOptions(), ownsStore: true); }
        catch { store.Dispose(); throw; }
    }

    /// <inheritdoc />
    public int InputDim { get; }

    /// <inheritdoc />
    public long Position { get; private set; }

    /// <inheritdoc />
    public long? RowCount => _rows;

    /// <inheritdoc />
    public Tensor NextBatch(int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "a batch has at least one row");
        float[] dataBD;
        if (_options.PrefetchBatches == 0)
        {
            dataBD = Gather(Position, batchSize);
        }
        else
        {
            if (_prefetcher is null || _prefetcher.NextPosition != Position || _prefetcher.BatchSize != batchSize)
            {
                _prefetcher?.Dispose();
                _prefetcher = new Prefetcher(this, Position, batchSize, _options.PrefetchBatches);
            }
            dataBD = _prefetcher.Take();
        }
        Position += batchSize;
        return tensor(dataBD, new long[] { batchSize, InputDim });
    }

    /// <inheritdoc />
    public void Seek(long position)
    {
        if (position < 0) throw new ArgumentOutOfRangeException(nameof(position), position, "positions are non-negative");
        Position = position;
    }

    /// <summary>The store row handed out at <paramref name="position"/> (the order, exposed for tests and tools).</summary>
    public long RowAt(long position)
    {
        long epoch = position / _rows, offset = position % _rows;
        if (!_options.Shuffle) return offset;
        lock (_planGate)
        {
            PlanEpoch(epoch);
            int window = Array.BinarySearch(_windowStart, offset);
            if (window < 0) window = ~window - 1;
            long local = offset - _windowStart[window];
            if (_windowPlan.Epoch != epoch || _windowPlan.Window != window)
            {
                long size = (window + 1 < _windowStart.Length ? _windowStart[window + 1] : _rows) - _windowStart[window];
                var order = SplitMix64.Permutation(size, SplitMix64.Mix(SplitMix64.Mix(_options.Seed, (ulong)epoch), (ulong)window + 1));
                _windowPlan = (epoch, window, Array.ConvertAll(order, v => (int)v));
            }
            long inWindow = _windowPlan.Order[local];
            long first = (long)window * _chunksPerWindow;
            for (long c = first; ; c++)
            {
                long chunk = _chunkOrder[c];
                long chunkRows = Math.Min(_options.ChunkRows, _rows - chunk * _options.ChunkRows);
                if (inWindow < chunkRows) return chunk * _options.ChunkRows + inWindow;
                inWindow -= chunkRows;
            }
        }
    }

    /// <summary>The store, hook, shard file and row of the row handed out at <paramref name="position"/> (shuffling undone).</summary>
    public string DescribeRow(long position)
    {
        long row = RowAt(position), first = 0;
        var hook = _store.Hooks[_hook];
        foreach (var shard in _store.Manifest.Shards)
        {
            if (row < first + shard.Rows)
                return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"store {_store.Path}, hook {hook.Name}, shard {shard.Index} ({shard.Files[_hook].Path}), row {row - first} of the shard (store row {row})");
            first += shard.Rows;
        }
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"store {_store.Path}, hook {hook.Name}, store row {row}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _prefetcher?.Dispose();
        _prefetcher = null;
        if (_ownsStore) _store.Dispose();
    }

    private void PlanEpoch(long epoch)
    {
        if (_planEpoch == epoch) return;
        _chunkOrder = SplitMix64.Permutation(_chunks, SplitMix64.Mix(_options.Seed, (ulong)epoch));
        long windows = (_chunks + _chunksPerWindow - 1) / _chunksPerWindow;
        _windowStart = new long[windows];
        long start = 0;
        for (long w = 0; w < windows; w++)
        {
            _windowStart[w] = start;
            for (long c = w * _chunksPerWindow; c < Math.Min(_chunks, (w + 1) * _chunksPerWindow); c++)
                start += Math.Min(_options.ChunkRows, _rows - _chunkOrder[c] * _options.ChunkRows);
        }
        _planEpoch = epoch;
    }

    private float[] Gather(long position, int batchSize)
    {
        int d = InputDim;
        var dataBD = new float[(long)batchSize * d];
        if (!_options.Shuffle && position % _rows + batchSize <= _rows)
        {
            _store.ReadRows(_hook, position % _rows, batchSize, dataBD);
            return dataBD;
        }
        for (int b = 0; b < batchSize; b++)
            _store.ReadRow(_hook, RowAt(position + b), dataBD.AsSpan(b * d, d));
        return dataBD;
    }

    /// <summary>Gathers batches ahead on a background thread; failures surface on the caller's next Take.</summary>
    private sealed class Prefetcher : IDisposable
    {
        private readonly BlockingCollection<(float[]? Data, Exception? Error)> _queue;
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;

        public Prefetcher(StoreActivationSource source, long start, int batchSize, int depth)
        {
            NextPosition = start;
            BatchSize = batchSize;
            _queue = new BlockingCollection<(float[]?, Exception?)>(depth);
            _thread = new Thread(() =>
            {
                long position = start;
                try
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        var data = source.Gather(position, batchSize);
                        _queue.Add((data, null), _stop.Token);
                        position += batchSize;
                    }
                }
                catch (OperationCanceledException) { }
                catch (Exception e)
                {
                    try { _queue.Add((null, e), _stop.Token); } catch (OperationCanceledException) { }
                }
            }) { IsBackground = true, Name = "saesharp-store-prefetch" };
            _thread.Start();
        }

        public long NextPosition { get; private set; }
        public int BatchSize { get; }

        public float[] Take()
        {
            var (data, error) = _queue.Take();
            if (error is not null)
            {
                // Keep the prefetcher failed: the next call restarts it (and reports the error again if it persists).
                NextPosition = -1;
                throw error is SaeSharpException ? error : new SaeSharpException($"reading the store failed: {error.Message}", inner: error);
            }
            NextPosition += BatchSize;
            return data!;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _queue.Dispose();
            _stop.Dispose();
        }
    }
}
