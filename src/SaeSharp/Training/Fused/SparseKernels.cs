using System.Numerics;
using System.Runtime.CompilerServices;

namespace SaeSharp.Training.Fused;

/// <summary>
/// The sparse parts of the fused TopK step, over raw tensor memory. The decode is parallel over tokens;
/// the gradient accumulation and the Adam update are parallel over latents, after the (token, latent)
/// pairs are bucketed by latent, so each thread owns its latents' rows: no races, no atomics, and results
/// that do not depend on the thread count. <see cref="ScalarKernels"/> holds the plain twins.
/// </summary>
internal static unsafe class SparseKernels
{
    /// <summary>
    /// Decodes every row and forms the gradients with respect to the reconstructions.
    /// Main: x̂_b = b_dec + Σ max(v,0)·W_dec[l]; e_b = x̂_b − x_b; <c>gradBD[b] = (2/B)·e_b</c>; <c>sqErrB[b] = ‖e_b‖²</c>.
    /// AuxK (when <paramref name="aux"/> is given): ê_b = Σ max(a,0)·W_dec[l]; r_b = ê_b + e_b (= ê − (x − x̂));
    /// <c>gradBD[B + b] = (2·auxCoef/B)·r_b</c>; <c>auxErrB[b] = ‖r_b‖²</c>.
    /// <c>gradSumPartsCD[c]</c> receives the sum of the main gradient rows of chunk c (for b_dec).
    /// </summary>
    public static void Decode<T>(T* xBD, T* bDecD, T* wDecLD, int rows, int dim, SparseSelection<T> main, SparseSelection<T>? aux,
        T auxCoefficient, T* gradBD, T* sqErrB, T* auxErrB, T[] gradSumPartsCD)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T mainScale = T.CreateChecked(2.0) / T.CreateChecked(rows);
        T auxScale = mainScale * auxCoefficient;
        int chunks = TopKKernels.ChunkCount(rows);
        Parallel.For(0, chunks, () => new T[2 * dim], (chunk, _, scratch) =>
        {
            var (r0, r1) = TopKKernels.ChunkRange(chunk, rows);
            fixed (T* scratchPtr = scratch)
            fixed (int* mainLatent = main.Latent)
            fixed (T* mainValue = main.Value)
            fixed (int* auxLatent = aux?.Latent)
            fixed (T* auxValue = aux?.Value)
            fixed (T* gradSum = &gradSumPartsCD[chunk * dim])
            {
                T* e = scratchPtr; T* eHat = scratchPtr + dim;
                new Span<T>(gradSum, dim).Clear();
                for (int b = r0; b < r1; b++)
                {
                    new Span<T>(bDecD, dim).CopyTo(new Span<T>(e, dim));
                    for (int p = main.RowStart[b]; p < main.RowStart[b + 1]; p++)
                    {
                        T v = mainValue[p];
                        if (v > T.Zero) Axpy(v, wDecLD + (long)mainLatent[p] * dim, e, dim);
                    }
                    T* x = xBD + (long)b * dim;
                    T* g = gradBD + (long)b * dim;
                    sqErrB[b] = SubtractScaleNorm(e, x, mainScale, g, dim);
                    Add(g, gradSum, dim);
                    if (aux is null) continue;
                    new Span<T>(eHat, dim).Clear();
                    for (int p = aux.RowStart[b]; p < aux.RowStart[b + 1]; p++)
                    {
                        T a = auxValue[p];
                        if (a > T.Zero) Axpy(a, wDecLD + (long)auxLatent[p] * dim, eHat, dim);
                    }
                    auxErrB[b] = AddScaleNorm(eHat, e, auxScale, gradBD + (long)(rows + b) * dim, dim);
                }
            }
            return scratch;
        }, _ => { });
    }

    /// <summary>
    /// Buckets the selected (row, latent) pairs with a positive activation by latent (counting sort,
    /// stable: main pairs in row order, then AuxK pairs in row order). Pair p refers to gradient row
    /// <c>GradRow[p]</c> (b for main, B + b for AuxK), input row <c>InputRow[p]</c> and activation <c>Activation[p]</c>;
    /// latent l owns pairs <c>Start[l] .. Start[l+1]</c>. <c>firedL</c> counts main pairs per latent.
    /// </summary>
    public static void BucketByLatent<T>(SparseSelection<T> main, SparseSelection<T>? aux, int latents, LatentBuckets<T> buckets, float* firedL)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int capacity = main.Count + (aux?.Count ?? 0);
        buckets.Reset(latents, capacity);
        var start = buckets.Start;
        Array.Clear(start, 0, latents + 1);
        new Span<float>(firedL, latents).Clear();
        for (int p = 0; p < main.Count; p++)
            if (main.Value[p] > T.Zero) { start[main.Latent[p] + 1]++; firedL[main.Latent[p]] += 1f; }
        if (aux is not null)
            for (int p = 0; p < aux.Count; p++)
                if (aux.Value[p] > T.Zero) start[aux.Latent[p] + 1]++;
        for (int l = 0; l < latents; l++) start[l + 1] += start[l];
        var cursor = buckets.Cursor;
        Array.Copy(start, cursor, latents);
        Place(main, 0, cursor, buckets);
        if (aux is not null) Place(aux, main.Rows, cursor, buckets);
        buckets.Count = start[latents];

        static void Place(SparseSelection<T> selection, int gradRowOffset, int[] cursor, LatentBuckets<T> buckets)
        {
            for (int b = 0; b < selection.Rows; b++)
                for (int p = selection.RowStart[b]; p < selection.RowStart[b + 1]; p++)
                {
                    T v = selection.Value[p];
                    if (!(v > T.Zero)) continue;
                    int slot = cursor[selection.Latent[p]]++;
                    buckets.GradRow[slot] = gradRowOffset + b;
                    buckets.InputRow[slot] = b;
                    buckets.Activation[slot] = v;
                }
        }
    }

    /// <summary>
    /// For every latent l (parallel over fixed latent chunks): its gradients from its bucket
    /// (g_pre = ⟨grad[row], W_dec[l]⟩, g_W_dec[l] = Σ a·grad[row], g_W_enc[l] = Σ g_pre·xc[row], g_b_enc[l] = Σ g_pre),
    /// the b_dec share <c>g_b_enc[l]·W_enc[l]</c> (old W_enc) into <c>bDecPartsCD[chunk]</c>, then Adam on
    /// W_enc[l], b_enc[l], W_dec[l] (every latent: moments decay even without gradient), with the
    /// decoder constraint when <paramref name="unitNormDecoder"/>: the gradient's component along W_dec[l] is
    /// removed before Adam and the row renormalised after.
    /// </summary>
    public static void LatentUpdate<T>(LatentBuckets<T> buckets, T* gradRowsD, T* xcBD, int latents, int dim,
        T* wEncLD, T* bEncL, T* wDecLD, T* mWEnc, T* vWEnc, T* mBEnc, T* vBEnc, T* mWDec, T* vWDec,
        AdamCoefficients<T> adam, bool unitNormDecoder, T[] bDecPartsCD)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int chunks = LatentChunkCount(latents);
        Parallel.For(0, chunks, () => new T[2 * dim], (chunk, _, scratch) =>
        {
            int l0 = (int)((long)latents * chunk / chunks), l1 = (int)((long)latents * (chunk + 1) / chunks);
            fixed (T* scratchPtr = scratch)
            fixed (int* start = buckets.Start)
            fixed (int* gradRow = buckets.GradRow)
            fixed (int* inputRow = buckets.InputRow)
            fixed (T* activation = buckets.Activation)
            fixed (T* bDecPart = &bDecPartsCD[chunk * dim])
            {
                T* gDec = scratchPtr; T* gEnc = scratchPtr + dim;
                new Span<T>(bDecPart, dim).Clear();
                for (int l = l0; l < l1; l++)
                {
                    long row = (long)l * dim;
                    T* wDec = wDecLD + row; T* wEnc = wEncLD + row;
                    T gBias = T.Zero;
                    int p0 = start[l], p1 = start[l + 1];
                    if (p0 < p1)
                    {
                        new Span<T>(gDec, 2 * dim).Clear();
                        for (int p = p0; p < p1; p++)
                        {
                            T* g = gradRowsD + (long)gradRow[p] * dim;
                            T gPre = DotAndAxpy(g, wDec, activation[p], gDec, dim);
                            Axpy(gPre, xcBD + (long)inputRow[p] * dim, gEnc, dim);
                            gBias += gPre;
                        }
                        Axpy(gBias, wEnc, bDecPart, dim);
                        if (unitNormDecoder) RemoveParallel(gDec, wDec, dim);
                        AdamRow(wEnc, gEnc, mWEnc + row, vWEnc + row, dim, adam);
                        AdamRow(wDec, gDec, mWDec + row, vWDec + row, dim, adam);
                    }
                    else
                    {
                        AdamRowZeroGrad(wEnc, mWEnc + row, vWEnc + row, dim, adam);
                        AdamRowZeroGrad(wDec, mWDec + row, vWDec + row, dim, adam);
                    }
                    AdamRow(bEncL + l, &gBias, mBEnc + l, vBEnc + l, 1, adam);
                    if (unitNormDecoder) Normalize(wDec, dim);
                }
            }
            return scratch;
        }, _ => { });
    }

    /// <summary>xc = x − b_dec, row-parallel (into a reused buffer; libtorch would allocate a fresh tensor each step).</summary>
    public static void Centre<T>(T* xBD, T* bDecD, T* xcBD, int rows, int dim) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Parallel.For(0, TopKKernels.ChunkCount(rows), chunk =>
        {
            var (r0, r1) = TopKKernels.ChunkRange(chunk, rows);
            int w = Vector<T>.Count;
            for (long b = r0; b < r1; b++)
            {
                T* x = xBD + b * dim, xc = xcBD + b * dim;
                int j = 0;
                for (; j <= dim - w; j += w) Vector.Store(Vector.Load(x + j) - Vector.Load(bDecD + j), xc + j);
                for (; j < dim; j++) xc[j] = x[j] - bDecD[j];
            }
        });
    }

    /// <summary>Σ_b ‖x_b − mean_B(x)‖², two-pass in double (the FVU denominator).</summary>
    public static double VarianceSum<T>(T* xBD, int rows, int dim) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var meanD = new double[dim];
        for (long b = 0; b < rows; b++)
            for (int j = 0; j < dim; j++) meanD[j] += double.CreateTruncating(xBD[b * dim + j]);
        for (int j = 0; j < dim; j++) meanD[j] /= rows;
        double sum = 0;
        for (long b = 0; b < rows; b++)
            for (int j = 0; j < dim; j++) { double dev = double.CreateTruncating(xBD[b * dim + j]) - meanD[j]; sum += dev * dev; }
        return sum;
    }

    internal static int LatentChunkCount(int latents) => Math.Max(1, Math.Min(latents, 64));

    /// <summary>Adam on a dense row: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; p ← p − s·m / (√(v / c2) + ε).</summary>
    public static void AdamRow<T>(T* p, T* g, T* m, T* v, int n, AdamCoefficients<T> a) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        if (n >= w)
        {
            var b1 = new Vector<T>(a.Beta1); var c1 = new Vector<T>(a.OneMinusBeta1);
            var b2 = new Vector<T>(a.Beta2); var c2 = new Vector<T>(a.OneMinusBeta2);
            var step = new Vector<T>(a.StepSize); var bc2 = new Vector<T>(a.BiasCorrection2); var eps = new Vector<T>(a.Epsilon);
            for (; j <= n - w; j += w)
            {
                var gv = Vector.Load(g + j);
                var mv = b1 * Vector.Load(m + j) + c1 * gv;
                var vv = b2 * Vector.Load(v + j) + c2 * (gv * gv);
                Vector.Store(mv, m + j); Vector.Store(vv, v + j);
                Vector.Store(Vector.Load(p + j) - step * (mv / (Vector.SquareRoot(vv / bc2) + eps)), p + j);
            }
        }
        for (; j < n; j++)
        {
            T mj = a.Beta1 * m[j] + a.OneMinusBeta1 * g[j];
            T vj = a.Beta2 * v[j] + a.OneMinusBeta2 * (g[j] * g[j]);
            m[j] = mj; v[j] = vj;
            p[j] -= a.StepSize * (mj / (T.Sqrt(vj / a.BiasCorrection2) + a.Epsilon));
        }
    }

    /// <summary><see cref="AdamRow"/> with g = 0, without reading a gradient.</summary>
    static void AdamRowZeroGrad<T>(T* p, T* m, T* v, int n, AdamCoefficients<T> a) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        var b1 = new Vector<T>(a.Beta1); var b2 = new Vector<T>(a.Beta2);
        var step = new Vector<T>(a.StepSize); var bc2 = new Vector<T>(a.BiasCorrection2); var eps = new Vector<T>(a.Epsilon);
        for (; j <= n - w; j += w)
        {
            var mv = b1 * Vector.Load(m + j);
            var vv = b2 * Vector.Load(v + j);
            Vector.Store(mv, m + j); Vector.Store(vv, v + j);
            Vector.Store(Vector.Load(p + j) - step * (mv / (Vector.SquareRoot(vv / bc2) + eps)), p + j);
        }
        for (; j < n; j++)
        {
            T mj = a.Beta1 * m[j];
            T vj = a.Beta2 * v[j];
            m[j] = mj; v[j] = vj;
            p[j] -= a.StepSize * (mj / (T.Sqrt(vj / a.BiasCorrection2) + a.Epsilon));
        }
    }

    /// <summary>y += α·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy<T>(T alpha, T* x, T* y, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        var av = new Vector<T>(alpha);
        for (; j <= n - w; j += w) Vector.Store(Vector.Load(y + j) + av * Vector.Load(x + j), y + j);
        for (; j < n; j++) y[j] += alpha * x[j];
    }

    /// <summary>Returns ⟨g, w⟩ and adds α·g to acc, in one pass over g.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T DotAndAxpy<T>(T* g, T* w, T alpha, T* acc, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int width = Vector<T>.Count, j = 0;
        var av = new Vector<T>(alpha);
        var dot = Vector<T>.Zero;
        for (; j <= n - width; j += width)
        {
            var gv = Vector.Load(g + j);
            dot += gv * Vector.Load(w + j);
            Vector.Store(Vector.Load(acc + j) + av * gv, acc + j);
        }
        T s = Vector.Sum(dot);
        for (; j < n; j++) { s += g[j] * w[j]; acc[j] += alpha * g[j]; }
        return s;
    }

    /// <summary>y += x.</summary>
    static void Add<T>(T* x, T* y, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        for (; j <= n - w; j += w) Vector.Store(Vector.Load(y + j) + Vector.Load(x + j), y + j);
        for (; j < n; j++) y[j] += x[j];
    }

    /// <summary>e ← e − x (in place); out = s·e; returns ‖e‖².</summary>
    static T SubtractScaleNorm<T>(T* e, T* x, T s, T* output, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        var sv = new Vector<T>(s); var acc = Vector<T>.Zero;
        for (; j <= n - w; j += w)
        {
            var ev = Vector.Load(e + j) - Vector.Load(x + j);
            Vector.Store(ev, e + j);
            Vector.Store(sv * ev, output + j);
            acc += ev * ev;
        }
        T sum = Vector.Sum(acc);
        for (; j < n; j++) { T ej = e[j] - x[j]; e[j] = ej; output[j] = s * ej; sum += ej * ej; }
        return sum;
    }

    /// <summary>r = a + e; out = s·r; returns ‖r‖².</summary>
    static T AddScaleNorm<T>(T* a, T* e, T s, T* output, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        var sv = new Vector<T>(s); var acc = Vector<T>.Zero;
        for (; j <= n - w; j += w)
        {
            var rv = Vector.Load(a + j) + Vector.Load(e + j);
            Vector.Store(sv * rv, output + j);
            acc += rv * rv;
        }
        T sum = Vector.Sum(acc);
        for (; j < n; j++) { T rj = a[j] + e[j]; output[j] = s * rj; sum += rj * rj; }
        return sum;
    }

    /// <summary>g ← g − ⟨g, w⟩·w (w is a unit row: the constraint keeps it so).</summary>
    static void RemoveParallel<T>(T* g, T* w, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Axpy(-Dot(g, w, n), w, g, n);

    /// <summary>w ← w / max(‖w‖, 1e-12).</summary>
    static void Normalize<T>(T* w, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T norm = T.Max(T.Sqrt(Dot(w, w, n)), T.CreateChecked(1e-12));
        int width = Vector<T>.Count, j = 0;
        var nv = new Vector<T>(norm);
        for (; j <= n - width; j += width) Vector.Store(Vector.Load(w + j) / nv, w + j);
        for (; j < n; j++) w[j] /= norm;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Dot<T>(T* a, T* b, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, j = 0;
        var acc = Vector<T>.Zero;
        for (; j <= n - w; j += w) acc += Vector.Load(a + j) * Vector.Load(b + j);
        T s = Vector.Sum(acc);
        for (; j < n; j++) s += a[j] * b[j];
        return s;
    }
}
