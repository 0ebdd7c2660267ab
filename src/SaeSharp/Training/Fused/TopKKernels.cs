using System.Numerics;
using System.Runtime.CompilerServices;

namespace SaeSharp.Training.Fused;

/// <summary>
/// Selection kernels over the dense pre-activations <c>preBL</c> (encoder product without its bias; the
/// bias is added on the fly so the product can be written straight into a reused buffer). Rows are
/// independent, so they run in parallel over row ranges. Ties keep the lower latent index.
/// </summary>
internal static unsafe class TopKKernels
{
    /// <summary>
    /// Per row, the <paramref name="k"/> largest <c>pre + bias</c> (TopK), descending. A row with fewer than
    /// k comparable values (NaN / −∞) gets NaN entries, so the loss turns non-finite and training stops.
    /// </summary>
    public static void TopKPerRow<T>(T* preBL, T* biasL, int rows, int latents, int k, SparseSelection<T> selection)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        selection.Reset(rows, rows * k);
        for (int b = 0; b <= rows; b++) selection.RowStart[b] = b * k;
        selection.Count = rows * k;
        fixed (int* latentPtr = selection.Latent)
        fixed (T* valuePtr = selection.Value)
        {
            var latentAll = latentPtr; var valueAll = valuePtr;
            Parallel.For(0, ChunkCount(rows), () => new Heap<T>(k), (chunk, _, heap) =>
            {
                var (r0, r1) = ChunkRange(chunk, rows);
                for (int b = r0; b < r1; b++)
                {
                    heap.Clear();
                    ScanDense(preBL + (long)b * latents, biasL, latents, heap);
                    if (!heap.DrainDescending(latentAll + (long)b * k, valueAll + (long)b * k)) selection.NonFinite = true;
                }
                return heap;
            }, _ => { });
        }
    }

    /// <summary>
    /// AuxK selection: per row, the <paramref name="k"/> largest <c>pre + bias</c> among <paramref name="candidates"/>
    /// (the dead latents, ascending), in candidate order; ties at the k-th value go to the lower latent. A quickselect for the k-th value and one
    /// pass, O(n) per row: with the default AuxK width (D/2 or S·D/2, hundreds) a k-heap would cost n·log k.
    /// A row holding NaN is flagged (<see cref="SparseSelection{T}.NonFinite"/>) and gets NaN entries (no gradient).
    /// With <paramref name="descending"/> each row's picks are then sorted by value, largest first (k·log k): the order
    /// the SAE's decode has always summed them in. The order changes only float rounding, but training amplifies
    /// rounding (the demo's SAE covers 5 instead of 7 of 8 key frequencies when the order alone changes), so each
    /// step keeps the order its earlier results were measured with.
    /// </summary>
    public static void TopKPerRowAmong<T>(T* preBL, T* biasL, int rows, int latents, int[] candidates, int k, SparseSelection<T> selection,
        bool descending = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = candidates.Length;
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {n}] (the candidate count)");
        selection.Reset(rows, rows * k);
        for (int b = 0; b <= rows; b++) selection.RowStart[b] = b * k;
        selection.Count = rows * k;
        var latentOut = selection.Latent; var valueOut = selection.Value;
        bool nonFinite = false;
        int chunks = ChunkCount(rows);
        CrosscoderKernels.ForChunks(chunks, (long)rows * n, () => new T[n], (chunk, scratch) =>
        {
            var (r0, r1) = ChunkRange(chunk, rows);
            for (int b = r0; b < r1; b++)
            {
                T* row = preBL + (long)b * latents;
                bool rowNaN = false;
                for (int c = 0; c < n; c++)
                {
                    T value = row[candidates[c]] + biasL[candidates[c]];
                    scratch[c] = value;
                    rowNaN |= T.IsNaN(value);
                }
                int at = b * k;
                if (rowNaN)
                {
                    nonFinite = true;
                    for (int i = 0; i < k; i++) { latentOut[at + i] = candidates[i]; valueOut[at + i] = T.NaN; }
                    continue;
                }
                T threshold = KthLargest(scratch, n, k);
                int greater = 0;
                for (int c = 0; c < n; c++) if (row[candidates[c]] + biasL[candidates[c]] > threshold) greater++;
                int ties = k - greater;
                for (int c = 0; c < n; c++)
                {
                    int latent = candidates[c];
                    T value = row[latent] + biasL[latent];
                    if (value > threshold || (value == threshold && ties-- > 0)) { latentOut[at] = latent; valueOut[at] = value; at++; }
                }
                if (descending)
                    valueOut.AsSpan(b * k, k).Sort(latentOut.AsSpan(b * k, k), static (x, y) => y.CompareTo(x));
            }
            return scratch;
        }, _ => { });
        selection.NonFinite = nonFinite;
    }

    /// <summary>The k-th largest of <c>values[0..n)</c> (no NaN), by quickselect; permutes the array.</summary>
    internal static T KthLargest<T>(T[] values, int n, int k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int target = n - k, lo = 0, hi = n - 1;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            T a = values[lo], b = values[mid], c = values[hi];
            T pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j) { (values[i], values[j]) = (values[j], values[i]); i++; j--; }
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else break;
        }
        return values[target];
    }

    /// <summary>
    /// BatchTopK: the <paramref name="total"/> largest positive <c>relu(pre + bias)</c> over the whole batch
    /// (fewer when fewer are positive), as a per-row selection in latent order. Exact: a histogram of the
    /// top 16 bits of the positive values finds the bucket holding the cut, a second pass collects that
    /// bucket and everything above it, and only the cut bucket is sorted.
    /// </summary>
    public static void BatchTopK<T>(T* preBL, T* biasL, int rows, int latents, int total, SparseSelection<T> selection)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int Buckets = 1 << 15;
        int chunks = ChunkCount(rows);
        // Pass 1: histogram of the positive values' top bits (integer counts: merge order does not matter).
        var merged = new long[Buckets];
        bool nonFinite = false;
        var gate = new object();
        Parallel.For(0, chunks, () => new int[Buckets], (chunk, _, hist) =>
        {
            var (r0, r1) = ChunkRange(chunk, rows);
            int w = Vector<T>.Count;
            for (int b = r0; b < r1; b++)
            {
                T* row = preBL + (long)b * latents;
                int j = 0;
                for (; j <= latents - w; j += w)
                {
                    var v = Vector.Load(row + j) + Vector.Load(biasL + j);
                    if (!Vector.EqualsAll(v, v)) nonFinite = true; // NaN ≠ NaN
                    if (!Vector.GreaterThanAny(v, Vector<T>.Zero)) continue;
                    for (int l = 0; l < w; l++) if (v[l] > T.Zero) hist[Bucket(v[l])]++;
                }
                for (; j < latents; j++)
                {
                    T v = row[j] + biasL[j];
                    if (v > T.Zero) hist[Bucket(v)]++;
                    else if (T.IsNaN(v)) nonFinite = true;
                }
            }
            return hist;
        }, hist =>
        {
            lock (gate) for (int h = 0; h < Buckets; h++) merged[h] += hist[h];
        });
        // The cut bucket: fewer than `total` values lie strictly above it, at least `total` at or above it.
        int cut = 0; long above = 0;
        for (int h = Buckets - 1; h >= 0; h--)
        {
            if (above + merged[h] >= total) { cut = h; break; }
            above += merged[h];
        }
        // Pass 2: per-chunk candidates (bucket ≥ cut) in row-major order; chunks concatenate in order.
        T floor = SmallestInBucket<T>(cut);
        var perChunk = new List<(int Row, int Latent, T Value)>[chunks];
        Parallel.For(0, chunks, chunk =>
        {
            var list = perChunk[chunk] = [];
            var (r0, r1) = ChunkRange(chunk, rows);
            for (int b = r0; b < r1; b++)
            {
                int row = b;
                ForEachAbove(preBL + (long)b * latents, biasL, latents, T.Zero, (v, j) =>
                {
                    if (v >= floor) list.Add((row, j, v));
                });
            }
        });
        var candidates = perChunk.SelectMany(l => l).ToArray();
        int candidateCount = candidates.Length;
        // Exact threshold inside the cut bucket; ties at the threshold go to the earliest (row, latent).
        T threshold = T.Zero; long tiesAllowed = long.MaxValue;
        if (candidateCount > total)
        {
            var sorted = candidates.Where(c => Bucket(c.Value) == cut).Select(c => c.Value).ToArray();
            Array.Sort(sorted);
            int needed = (int)(total - above);
            threshold = sorted[sorted.Length - needed];
            int greater = 0;
            foreach (var v in sorted) if (v > threshold) greater++;
            tiesAllowed = needed - greater;
        }
        selection.Reset(rows, Math.Min(candidateCount, total));
        int n = 0, nextRow = 0;
        foreach (var (row, latent, v) in candidates)
        {
            bool keep = v > threshold || (candidateCount > total && v == threshold && tiesAllowed-- > 0);
            if (!keep) continue;
            while (nextRow <= row) selection.RowStart[nextRow++] = n;
            selection.Latent[n] = latent; selection.Value[n] = v; n++;
        }
        while (nextRow <= rows) selection.RowStart[nextRow++] = n;
        selection.Count = n;
        selection.NonFinite = nonFinite;
    }

    /// <summary>Calls <paramref name="action"/> for each <c>row[j] + bias[j] &gt; floor</c>, skipping whole vectors below it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ForEachAbove<T>(T* row, T* bias, int n, T floor, Action<T, int> action) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        var floorV = new Vector<T>(floor);
        for (; j <= n - w; j += w)
        {
            var v = Vector.Load(row + j) + Vector.Load(bias + j);
            if (!Vector.GreaterThanAny(v, floorV)) continue;
            for (int l = 0; l < w; l++) if (v[l] > floor) action(v[l], j + l);
        }
        for (; j < n; j++) { T v = row[j] + bias[j]; if (v > floor) action(v, j); }
    }

    /// <summary>The smallest positive value whose <see cref="Bucket"/> is <paramref name="bucket"/>.</summary>
    internal static T SmallestInBucket<T>(int bucket) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { float f = BitConverter.UInt32BitsToSingle((uint)bucket << 16); return Unsafe.As<float, T>(ref f); }
        double d = BitConverter.UInt64BitsToDouble((ulong)bucket << 48);
        return Unsafe.As<double, T>(ref d);
    }

    /// <summary>A positive value's histogram bucket: its top 16 bits (sign, exponent, leading mantissa), so buckets order as values do.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Bucket<T>(T positive) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return (int)(BitConverter.SingleToUInt32Bits(Unsafe.As<T, float>(ref positive)) >> 16);
        return (int)(BitConverter.DoubleToUInt64Bits(Unsafe.As<T, double>(ref positive)) >> 48);
    }

    /// <summary>Vectorised scan: only lanes above the heap's current minimum reach the scalar insert.</summary>
    static void ScanDense<T>(T* row, T* bias, int n, Heap<T> heap) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        var floor = new Vector<T>(heap.Floor);
        for (; j <= n - w; j += w)
        {
            var v = Vector.Load(row + j) + Vector.Load(bias + j);
            if (!Vector.GreaterThanAny(v, floor)) continue;
            for (int l = 0; l < w; l++) heap.Offer(v[l], j + l);
            floor = new Vector<T>(heap.Floor);
        }
        for (; j < n; j++) heap.Offer(row[j] + bias[j], j);
    }

    // Fixed chunking (independent of the thread count) keeps every result bit-reproducible.
    internal static int ChunkCount(int rows) => Math.Max(1, Math.Min(rows, 64));

    internal static (int Start, int End) ChunkRange(int chunk, int rows)
    {
        int chunks = ChunkCount(rows);
        return ((int)((long)rows * chunk / chunks), (int)((long)rows * (chunk + 1) / chunks));
    }

    /// <summary>Min-heap of the k best (value, index) seen so far; strict comparison keeps earlier indices on ties.</summary>
    internal sealed class Heap<T>(int capacity) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        readonly T[] values = new T[capacity];
        readonly int[] indices = new int[capacity];
        int count;

        public void Clear() => count = 0;

        /// <summary>What a value must exceed to enter: −∞ until the heap is full.</summary>
        public T Floor => count < capacity ? T.NegativeInfinity : values[0];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Offer(T value, int index)
        {
            if (count < capacity)
            {
                if (!(value > T.NegativeInfinity)) return;
                int i = count++;
                while (i > 0)
                {
                    int parent = (i - 1) >> 1;
                    if (!Less(value, index, values[parent], indices[parent])) break;
                    values[i] = values[parent]; indices[i] = indices[parent]; i = parent;
                }
                values[i] = value; indices[i] = index;
            }
            else if (value > values[0])
            {
                SiftDown(value, index);
            }
        }

        // Order of "worse": smaller value, or equal value and larger index (so the lower index survives).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static bool Less(T v1, int i1, T v2, int i2) => v1 < v2 || (v1 == v2 && i1 > i2);

        void SiftDown(T value, int index)
        {
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= count) break;
                if (child + 1 < count && Less(values[child + 1], indices[child + 1], values[child], indices[child])) child++;
                if (!Less(values[child], indices[child], value, index)) break;
                values[i] = values[child]; indices[i] = indices[child]; i = child;
            }
            values[i] = value; indices[i] = index;
        }

        /// <summary>Writes the contents best-first and pads a short heap with NaN entries (returns false then).</summary>
        public bool DrainDescending(int* latentOut, T* valueOut)
        {
            int n = count;
            for (int slot = n - 1; slot >= 0; slot--)
            {
                latentOut[slot] = indices[0]; valueOut[slot] = values[0];
                count--;
                if (count > 0) { T v = values[count]; int ix = indices[count]; SiftDown(v, ix); }
            }
            for (int slot = n; slot < capacity; slot++) { latentOut[slot] = 0; valueOut[slot] = T.NaN; }
            return n == capacity;
        }
    }
}
