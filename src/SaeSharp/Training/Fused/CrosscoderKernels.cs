using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SaeSharp.Training.Fused;

/// <summary>
/// The crosscoder-specific kernels of <see cref="FusedCrosscoderStep"/>, over raw tensor memory. The S·D
/// concatenation makes a crosscoder an SAE of width X = S·D whose encoder reads raw x (no b_dec centring),
/// whose decoder is free (no renormalisation), whose BatchTopK ranks f_l · Σ_s ‖d_l^s‖ instead of f_l, and
/// whose encoder is stored input-major (<c>[X, L]</c>). The decode, the bucketing and Adam come from
/// <see cref="SparseKernels"/>; these kernels cover what differs. Work is split into fixed chunks whose
/// outputs are disjoint, so results do not depend on the thread count. <see cref="CrosscoderScalarKernels"/>
/// holds the plain twins.
/// </summary>
internal static unsafe class CrosscoderKernels
{
    /// <summary>Inputs per encoder tile of <see cref="EncoderUpdate"/>: one tile's x reads are 64 contiguous values of a row.</summary>
    internal const int InputTile = 64;

    /// <summary>Latents per encoder tile: the tile's gradient (64 × 1024 values) stays in L2.</summary>
    internal const int LatentTile = 1024;

    /// <summary>
    /// Row stride of a tile's gradient block: one cache line more than <see cref="LatentTile"/>, so the 64 values
    /// written per latent (one per input row, a whole stride apart) fall in different L1 sets instead of aliasing
    /// 4 KiB apart; the next 15 latents then hit the same 64 lines while they are still in L1.
    /// </summary>
    private const int TileStride = LatentTile + 16;

    /// <summary>Elements of work below which a kernel runs its chunks inline: waking pool threads costs more than it saves (the demo's size).</summary>
    internal const long ParallelThreshold = 1 << 18;

    /// <summary>
    /// Runs <paramref name="body"/> for every chunk, in parallel when <paramref name="work"/> (elements touched)
    /// pays for it, else inline in order. Each chunk writes only its own outputs, so the results are the same either way.
    /// </summary>
    internal static void ForChunks(int chunks, long work, Action<int> body)
    {
        if (work < ParallelThreshold || chunks == 1)
        {
            for (int c = 0; c < chunks; c++) body(c);
            return;
        }
        Parallel.For(0, chunks, body);
    }

    /// <summary><see cref="ForChunks(int, long, Action{int})"/> with a per-worker local (scratch buffers, histograms).</summary>
    internal static void ForChunks<TLocal>(int chunks, long work, Func<TLocal> init, Func<int, TLocal, TLocal> body, Action<TLocal> finish)
    {
        if (work < ParallelThreshold || chunks == 1)
        {
            var local = init();
            for (int c = 0; c < chunks; c++) local = body(c, local);
            finish(local);
            return;
        }
        Parallel.For(0, chunks, init, (c, _, local) => body(c, local), finish);
    }

    /// <summary>w_l = Σ_s ‖W_dec[l, s, :]‖ for every latent, parallel over latent chunks. W_dec <c>[L, S, D]</c> → <c>[L]</c>.</summary>
    public static void NormSums<T>(T* wDecLSD, int latents, int sources, int dim, T* normSumL) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int chunks = SparseKernels.LatentChunkCount(latents);
        ForChunks(chunks, (long)latents * sources * dim, chunk =>
        {
            int l0 = (int)((long)latents * chunk / chunks), l1 = (int)((long)latents * (chunk + 1) / chunks);
            for (int l = l0; l < l1; l++)
            {
                T sum = T.Zero;
                for (int s = 0; s < sources; s++)
                {
                    T* row = wDecLSD + ((long)l * sources + s) * dim;
                    sum += T.Sqrt(SparseKernels.Dot(row, row, dim));
                }
                normSumL[l] = sum;
            }
        });
    }

    /// <summary>
    /// BatchTopK on the weighted activations: the <paramref name="total"/> largest positive
    /// <c>relu(pre + bias) · weight</c> of the whole batch (fewer when fewer are positive), as a per-row selection
    /// in latent order holding the raw values <c>pre + bias</c> (so the activation is exactly relu of the
    /// pre-activation); ties at the cut go to the earliest (row, latent). NaN pre-activations or weights set
    /// <see cref="SparseSelection{T}.NonFinite"/>.
    /// </summary>
    /// <remarks>
    /// Exact whatever the data; fast when the batch is large: a histogram of the keys' top 16 bits over a strided
    /// sample of rows guesses a floor that about twice <paramref name="total"/> keys exceed, one vectorised pass
    /// collects the keys at or above it (rarely more than the guess), and only the candidates are ranked (a
    /// histogram over them, then a sort of the bucket holding the cut). When the guess proves too high (fewer
    /// than <paramref name="total"/> candidates), the floor is recomputed from a histogram of every row, which
    /// cannot miss.
    /// </remarks>
    public static void WeightedBatchTopK<T>(T* preBL, T* biasL, T* weightL, int rows, int latents, int total, SparseSelection<T> selection,
        WeightedSelectionScratch<T> scratch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int sampleStride = rows >= 256 ? 8 : 1;
        long sampledRows = (rows + sampleStride - 1) / sampleStride;
        long target = (long)Math.Ceiling(2.0 * total * sampledRows / rows) + 64;
        T floor = HistogramFloor(preBL, biasL, weightL, rows, latents, sampleStride, target);
        bool nonFinite = Collect(preBL, biasL, weightL, rows, latents, floor, scratch);
        if (scratch.Count < total && floor > T.Zero)
        {
            floor = HistogramFloor(preBL, biasL, weightL, rows, latents, 1, total);
            nonFinite = Collect(preBL, biasL, weightL, rows, latents, floor, scratch);
        }

        var candidates = scratch.All;
        int candidateCount = scratch.Count;
        T threshold = T.Zero; long tiesAllowed = long.MaxValue;
        if (candidateCount > total)
        {
            const int Buckets = 1 << 15;
            var hist = RentZeroed<int>(Buckets);
            for (int i = 0; i < candidateCount; i++) hist[TopKKernels.Bucket(candidates[i].Key)]++;
            int cut = 0; long above = 0;
            for (int h = Buckets - 1; h >= 0; h--)
            {
                if (above + hist[h] >= total) { cut = h; break; }
                above += hist[h];
            }
            ArrayPool<int>.Shared.Return(hist);
            if (scratch.CutKeys.Length < hist[cut]) scratch.CutKeys = new T[hist[cut]];
            var sorted = scratch.CutKeys;
            int inCut = 0;
            for (int i = 0; i < candidateCount; i++) if (TopKKernels.Bucket(candidates[i].Key) == cut) sorted[inCut++] = candidates[i].Key;
            Array.Sort(sorted, 0, inCut);
            int needed = (int)(total - above);
            threshold = sorted[inCut - needed];
            int greater = 0;
            for (int i = 0; i < inCut; i++) if (sorted[i] > threshold) greater++;
            tiesAllowed = needed - greater;
        }
        selection.Reset(rows, Math.Min(candidateCount, total));
        int n = 0, nextRow = 0;
        for (int i = 0; i < candidateCount; i++)
        {
            var (row, latent, value, key) = candidates[i];
            bool keep = key > threshold || (candidateCount > total && key == threshold && tiesAllowed-- > 0);
            if (!keep) continue;
            while (nextRow <= row) selection.RowStart[nextRow++] = n;
            selection.Latent[n] = latent; selection.Value[n] = value; n++;
        }
        while (nextRow <= rows) selection.RowStart[nextRow++] = n;
        selection.Count = n;
        selection.NonFinite = nonFinite;
    }

    /// <summary>
    /// The smallest value of the highest histogram bucket (top 16 bits of the positive keys, over every
    /// <paramref name="stride"/>-th row) at or above which at least <paramref name="target"/> keys lie; 0 when
    /// fewer are positive. Integer counts, so the merge order of the per-worker histograms does not matter.
    /// </summary>
    internal static T HistogramFloor<T>(T* preBL, T* biasL, T* weightL, int rows, int latents, int stride, long target)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int Buckets = 1 << 15;
        int sampled = (rows + stride - 1) / stride;
        var merged = RentZeroed<long>(Buckets);
        var gate = new object();
        ForChunks(TopKKernels.ChunkCount(sampled), (long)sampled * latents, () => RentZeroed<int>(Buckets), (chunk, hist) =>
        {
            var (s0, s1) = TopKKernels.ChunkRange(chunk, sampled);
            int w = Vector<T>.Count;
            for (int sample = s0; sample < s1; sample++)
            {
                T* row = preBL + (long)sample * stride * latents;
                int j = 0;
                for (; j <= latents - w; j += w)
                {
                    var key = Vector.Max(Vector.Load(row + j) + Vector.Load(biasL + j), Vector<T>.Zero) * Vector.Load(weightL + j);
                    if (!Vector.GreaterThanAny(key, Vector<T>.Zero)) continue;
                    for (int l = j; l < j + w; l++)
                    {
                        T laneKey = Key(row[l] + biasL[l], weightL[l]);
                        if (laneKey > T.Zero) hist[TopKKernels.Bucket(laneKey)]++;
                    }
                }
                for (; j < latents; j++)
                {
                    T key = Key(row[j] + biasL[j], weightL[j]);
                    if (key > T.Zero) hist[TopKKernels.Bucket(key)]++;
                }
            }
            return hist;
        }, hist =>
        {
            lock (gate) for (int h = 0; h < Buckets; h++) merged[h] += hist[h];
            ArrayPool<int>.Shared.Return(hist);
        });
        long above = 0;
        T floor = T.Zero;
        for (int h = Buckets - 1; h > 0; h--)
        {
            above += merged[h];
            if (above >= target) { floor = TopKKernels.SmallestInBucket<T>(h); break; }
        }
        ArrayPool<long>.Shared.Return(merged);
        return floor;
    }

    /// <summary>
    /// Every positive key at or above <paramref name="floor"/> with its row, latent and raw value, into
    /// <see cref="WeightedSelectionScratch{T}.All"/> in (row, latent) order; returns whether a NaN was seen.
    /// </summary>
    internal static bool Collect<T>(T* preBL, T* biasL, T* weightL, int rows, int latents, T floor, WeightedSelectionScratch<T> scratch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int chunks = TopKKernels.ChunkCount(rows);
        scratch.EnsureChunks(chunks);
        bool nonFinite = false;
        ForChunks(chunks, (long)rows * latents, chunk =>
        {
            var buffer = scratch.Chunks[chunk];
            int n = 0;
            var (r0, r1) = TopKKernels.ChunkRange(chunk, rows);
            int w = Vector<T>.Count;
            var floorV = new Vector<T>(floor);
            for (int b = r0; b < r1; b++)
            {
                T* row = preBL + (long)b * latents;
                int j = 0;
                for (; j <= latents - w; j += w)
                {
                    var value = Vector.Load(row + j) + Vector.Load(biasL + j);
                    var key = Vector.Max(value, Vector<T>.Zero) * Vector.Load(weightL + j);
                    // NaN ≠ NaN; the value is checked apart because a vector max may drop a NaN operand.
                    if (!Vector.EqualsAll(value, value) || !Vector.EqualsAll(key, key)) nonFinite = true;
                    if (!Vector.GreaterThanOrEqualAny(key, floorV)) continue;
                    // Lanes re-read from memory (same bits): indexing a Vector<T> lane costs more than the arithmetic.
                    for (int l = j; l < j + w; l++)
                    {
                        T laneValue = row[l] + biasL[l], laneKey = Key(laneValue, weightL[l]);
                        if (!(laneKey > T.Zero && laneKey >= floor)) continue;
                        if (n == buffer.Length) buffer = Grown(buffer);
                        buffer[n++] = new(b, l, laneValue, laneKey);
                    }
                }
                for (; j < latents; j++)
                {
                    T value = row[j] + biasL[j], key = Key(value, weightL[j]);
                    if (T.IsNaN(value) || T.IsNaN(key)) nonFinite = true;
                    if (!(key > T.Zero && key >= floor)) continue;
                    if (n == buffer.Length) buffer = Grown(buffer);
                    buffer[n++] = new(b, j, value, key);
                }
            }
            scratch.Chunks[chunk] = buffer;
            scratch.ChunkCounts[chunk] = n;
        });
        int count = 0;
        for (int c = 0; c < chunks; c++) count += scratch.ChunkCounts[c];
        if (scratch.All.Length < count) scratch.All = new WeightedSelectionScratch<T>.Candidate[Math.Max(count, 2 * scratch.All.Length)];
        int at = 0;
        for (int c = 0; c < chunks; c++)
        {
            Array.Copy(scratch.Chunks[c], 0, scratch.All, at, scratch.ChunkCounts[c]);
            at += scratch.ChunkCounts[c];
        }
        scratch.Count = count;
        return nonFinite;
    }


    [MethodImpl(MethodImplOptions.NoInlining)]
    static TElement[] Grown<TElement>(TElement[] buffer)
    {
        Array.Resize(ref buffer, Math.Max(256, 2 * buffer.Length));
        return buffer;
    }

    /// <summary>The ranking key relu(v)·w, in the order of operations the autograd step uses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T Key<T>(T value, T weight) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        T.Max(value, T.Zero) * weight;

    /// <summary>
    /// For every latent l (parallel over fixed latent chunks), from its bucket of (gradient row, activation) pairs:
    /// <c>gPreP[p] = ⟨grad[row_p], W_dec[l]⟩</c> (old W_dec), ∇W_dec[l] = Σ_p a_p·grad[row_p], ∇b_enc[l] = Σ_p gPreP[p];
    /// then Adam on W_dec[l] and b_enc[l] (every latent: moments decay without gradient). W_dec <c>[L, X]</c>.
    /// </summary>
    public static void DecoderUpdate<T>(LatentBuckets<T> buckets, T* gradRowsX, int latents, int width, T* wDecLX, T* bEncL,
        T* mWDec, T* vWDec, T* mBEnc, T* vBEnc, AdamCoefficients<T> adam, T[] gPreP)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int chunks = SparseKernels.LatentChunkCount(latents);
        ForChunks(chunks, (long)latents * width, () => new T[width], (chunk, scratch) =>
        {
            int l0 = (int)((long)latents * chunk / chunks), l1 = (int)((long)latents * (chunk + 1) / chunks);
            fixed (T* gDec = scratch)
            fixed (int* start = buckets.Start)
            fixed (int* gradRow = buckets.GradRow)
            fixed (T* activation = buckets.Activation)
            fixed (T* gPre = gPreP)
            {
                for (int l = l0; l < l1; l++)
                {
                    long offset = (long)l * width;
                    T* wDec = wDecLX + offset;
                    new Span<T>(gDec, width).Clear();
                    T gBias = T.Zero;
                    for (int p = start[l]; p < start[l + 1]; p++)
                    {
                        T g = SparseKernels.DotAndAxpy(gradRowsX + (long)gradRow[p] * width, wDec, activation[p], gDec, width);
                        gPre[p] = g;
                        gBias += g;
                    }
                    SparseKernels.AdamRow(wDec, gDec, mWDec + offset, vWDec + offset, width, adam);
                    SparseKernels.AdamRow(bEncL + l, &gBias, mBEnc + l, vBEnc + l, 1, adam);
                }
            }
            return scratch;
        }, _ => { });
    }

    /// <summary>
    /// The encoder in its input-major layout <c>[X, L]</c>: ∇W_enc[j, l] = Σ_{p ∈ bucket l} gPreP[p]·x[row_p, j]
    /// (a sparse xᵀ·G), then Adam on every entry. Parallel over tiles of <see cref="InputTile"/> inputs ×
    /// <see cref="LatentTile"/> latents; each tile's gradient is built in a scratch block and applied row by
    /// row (contiguous in l), so every thread owns its tile of W_enc and its moments.
    /// </summary>
    public static void EncoderUpdate<T>(LatentBuckets<T> buckets, T[] gPreP, T* xBX, int width, int latents,
        T* wEncXL, T* mWEnc, T* vWEnc, AdamCoefficients<T> adam)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int inputTiles = (width + InputTile - 1) / InputTile, latentTiles = (latents + LatentTile - 1) / LatentTile;
        ForChunks(inputTiles * latentTiles, (long)width * latents, () => new T[InputTile * TileStride + InputTile], (item, scratch) =>
        {
            int j0 = item / latentTiles * InputTile, j1 = Math.Min(width, j0 + InputTile), jw = j1 - j0;
            int l0 = item % latentTiles * LatentTile, l1 = Math.Min(latents, l0 + LatentTile), lw = l1 - l0;
            fixed (T* scratchPtr = scratch)
            fixed (int* start = buckets.Start)
            fixed (int* inputRow = buckets.InputRow)
            fixed (T* gPre = gPreP)
            {
                T* tile = scratchPtr, acc = scratchPtr + InputTile * TileStride;
                new Span<T>(tile, jw * TileStride).Clear();
                for (int l = l0; l < l1; l++)
                {
                    int p0 = start[l], p1 = start[l + 1];
                    if (p0 == p1) continue;
                    new Span<T>(acc, jw).Clear();
                    for (int p = p0; p < p1; p++) SparseKernels.Axpy(gPre[p], xBX + (long)inputRow[p] * width + j0, acc, jw);
                    for (int jj = 0; jj < jw; jj++) tile[jj * TileStride + (l - l0)] = acc[jj];
                }
                for (int jj = 0; jj < jw; jj++)
                {
                    long offset = (long)(j0 + jj) * latents + l0;
                    SparseKernels.AdamRow(wEncXL + offset, tile + jj * TileStride, mWEnc + offset, vWEnc + offset, lw, adam);
                }
            }
            return scratch;
        }, _ => { });
    }

    /// <summary>
    /// The dense alternative to <see cref="EncoderUpdate"/>'s gradient: G[b, l] = Σ gPreP over the pairs at (b, l)
    /// (main and AuxK pairs can share one), into a zeroed <c>[B, L]</c> buffer, parallel over latent chunks;
    /// the caller then forms ∇W_enc = xᵀ·G with one dense product.
    /// </summary>
    public static void ScatterPreGradients<T>(LatentBuckets<T> buckets, T[] gPreP, int latents, T* gBL) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int chunks = SparseKernels.LatentChunkCount(latents);
        ForChunks(chunks, buckets.Count, chunk =>
        {
            int l0 = (int)((long)latents * chunk / chunks), l1 = (int)((long)latents * (chunk + 1) / chunks);
            var start = buckets.Start; var inputRow = buckets.InputRow;
            for (int l = l0; l < l1; l++)
                for (int p = start[l]; p < start[l + 1]; p++) gBL[(long)inputRow[p] * latents + l] += gPreP[p];
        });
    }

    /// <summary>Adam on a dense tensor of <paramref name="count"/> entries (gradient given), parallel over 64 fixed chunks.</summary>
    public static void AdamDense<T>(T* p, T* g, T* m, T* v, long count, AdamCoefficients<T> adam) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int Chunks = 64;
        ForChunks(Chunks, count, chunk =>
        {
            long i0 = count * chunk / Chunks, i1 = count * (chunk + 1) / Chunks;
            for (long i = i0; i < i1; i += int.MaxValue / 2)
            {
                int n = (int)Math.Min(i1 - i, int.MaxValue / 2);
                SparseKernels.AdamRow(p + i, g + i, m + i, v + i, n, adam);
            }
        });
    }

    /// <summary>A pooled array of at least <paramref name="length"/> entries, the first <paramref name="length"/> zeroed (histograms are too large to allocate per step).</summary>
    static TElement[] RentZeroed<TElement>(int length)
    {
        var array = ArrayPool<TElement>.Shared.Rent(length);
        Array.Clear(array, 0, length);
        return array;
    }
}
