using System.Numerics;

namespace SaeSharp.Training.Fused;

/// <summary>
/// Plain, single-threaded twins of <see cref="CrosscoderKernels"/> and of the whole fused crosscoder step,
/// written for obviousness rather than speed (dense loops, full sorts): the tests hold the fast path to them.
/// Layouts as the crosscoder stores them, with X = S·D: x <c>[B, X]</c>, W_enc <c>[X, L]</c>, W_dec <c>[L, X]</c>.
/// </summary>
internal static class CrosscoderScalarKernels
{
    /// <summary>w_l = Σ_s ‖W_dec[l, s, :]‖ by plain loops.</summary>
    public static T[] NormSums<T>(T[] wDecLSD, int latents, int sources, int dim) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var normSumL = new T[latents];
        for (int l = 0; l < latents; l++)
            for (int s = 0; s < sources; s++)
            {
                T squares = T.Zero;
                for (int d = 0; d < dim; d++) { T w = wDecLSD[(l * sources + s) * dim + d]; squares += w * w; }
                normSumL[l] += T.Sqrt(squares);
            }
        return normSumL;
    }

    /// <summary>
    /// Weighted BatchTopK by a full sort of every positive key relu(pre + bias)·weight (descending; ties: earlier
    /// (row, latent) first): a dense <c>[B, L]</c> array holding pre + bias where selected, 0 elsewhere.
    /// </summary>
    public static T[] WeightedBatchTopK<T>(T[] preBL, T[] biasL, T[] weightL, int rows, int latents, int total)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var selectedBL = new T[rows * latents];
        var kept = Enumerable.Range(0, rows * latents)
            .Select(i => (Index: i, Value: preBL[i] + biasL[i % latents]))
            .Select(t => (t.Index, t.Value, Key: CrosscoderKernels.Key(t.Value, weightL[t.Index % latents])))
            .Where(t => t.Key > T.Zero)
            .OrderByDescending(t => t.Key).ThenBy(t => t.Index).Take(total);
        foreach (var (index, value, _) in kept) selectedBL[index] = value;
        return selectedBL;
    }

    /// <summary>Per row, the k largest <c>pre + bias</c> among <paramref name="candidates"/> by a full sort (ties: lower latent first), as dense <c>[B, L]</c> arrays: the chosen values (0 elsewhere) and a mask of the chosen entries.</summary>
    public static (T[] ValuesBL, bool[] ChosenBL) TopKPerRowAmong<T>(T[] preBL, T[] biasL, int rows, int latents, int[] candidates, int k)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var valuesBL = new T[rows * latents]; var chosenBL = new bool[rows * latents];
        for (int b = 0; b < rows; b++)
            foreach (int l in candidates.OrderByDescending(l => preBL[b * latents + l] + biasL[l]).ThenBy(l => l).Take(k))
            {
                valuesBL[b * latents + l] = preBL[b * latents + l] + biasL[l];
                chosenBL[b * latents + l] = true;
            }
        return (valuesBL, chosenBL);
    }

    /// <summary>
    /// One whole BatchTopK crosscoder step from scratch: pre-activations by a plain triple loop, the weighted
    /// selection, AuxK (per row the top <c>min(auxKLatents, dead)</c> dead pre-activations, when any are dead and
    /// the coefficient is non-zero), decode, every gradient by the chain rule written out, and Adam on all four
    /// parameters (in place; moments in the order W_enc, W_dec, b_enc, b_dec). Returns the summed squared errors.
    /// </summary>
    public static (double SquaredError, double AuxError) Step<T>(T[] xBX, int rows, int sources, int dim, int latents, int k,
        bool[] deadL, T auxCoefficient, int auxKLatents, T[] wEncXL, T[] bEncL, T[] wDecLX, T[] bDecX, T[][] firstMoments, T[][] secondMoments,
        AdamCoefficients<T> adam)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int width = sources * dim;
        T two = T.CreateChecked(2.0), batch = T.CreateChecked(rows);
        var preBL = new T[rows * latents];
        for (int b = 0; b < rows; b++)
            for (int l = 0; l < latents; l++)
            {
                T sum = T.Zero;
                for (int j = 0; j < width; j++) sum += xBX[b * width + j] * wEncXL[j * latents + l];
                preBL[b * latents + l] = sum;
            }
        var weightL = NormSums(wDecLX, latents, sources, dim);
        var selectedBL = WeightedBatchTopK(preBL, bEncL, weightL, rows, latents, rows * k);
        var dead = Enumerable.Range(0, latents).Where(l => deadL[l]).ToArray();
        int take = auxCoefficient == T.Zero ? 0 : Math.Min(auxKLatents, dead.Length);
        var auxBL = new T[rows * latents];
        for (int b = 0; b < rows && take > 0; b++)
            foreach (int l in dead.OrderByDescending(l => preBL[b * latents + l] + bEncL[l]).ThenBy(l => l).Take(take))
                auxBL[b * latents + l] = T.Max(preBL[b * latents + l] + bEncL[l], T.Zero);

        var gWEnc = new T[width * latents]; var gBEnc = new T[latents]; var gWDec = new T[latents * width]; var gBDec = new T[width];
        double sqErr = 0, auxErr = 0;
        for (int b = 0; b < rows; b++)
        {
            var e = new T[width];
            for (int j = 0; j < width; j++) e[j] = bDecX[j];
            for (int l = 0; l < latents; l++)
            {
                T a = T.Max(selectedBL[b * latents + l], T.Zero);
                for (int j = 0; j < width; j++) e[j] += a * wDecLX[l * width + j];
            }
            var g = new T[width];
            for (int j = 0; j < width; j++)
            {
                e[j] -= xBX[b * width + j];
                g[j] = two * e[j] / batch;
                sqErr += double.CreateChecked(e[j] * e[j]);
                gBDec[j] += g[j];
            }
            Backward(selectedBL, g, b);
            if (take == 0) continue;
            var r = new T[width];
            for (int l = 0; l < latents; l++)
                for (int j = 0; j < width; j++) r[j] += auxBL[b * latents + l] * wDecLX[l * width + j];
            var gAux = new T[width];
            for (int j = 0; j < width; j++) { r[j] += e[j]; auxErr += double.CreateChecked(r[j] * r[j]); gAux[j] = auxCoefficient * two * r[j] / batch; }
            Backward(auxBL, gAux, b);
        }
        Adam(wEncXL, gWEnc, 0); Adam(wDecLX, gWDec, 1); Adam(bEncL, gBEnc, 2); Adam(bDecX, gBDec, 3);
        return (sqErr, auxErr);

        void Backward(T[] valuesBL, T[] gradX, int row)
        {
            for (int l = 0; l < latents; l++)
            {
                T a = T.Max(valuesBL[row * latents + l], T.Zero);
                if (!(a > T.Zero)) continue;
                T gPre = T.Zero;
                for (int j = 0; j < width; j++) gPre += gradX[j] * wDecLX[l * width + j];
                for (int j = 0; j < width; j++)
                {
                    gWDec[l * width + j] += a * gradX[j];
                    gWEnc[j * latents + l] += gPre * xBX[row * width + j];
                }
                gBEnc[l] += gPre;
            }
        }

        void Adam(T[] p, T[] g, int index)
        {
            T[] m = firstMoments[index], v = secondMoments[index];
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = adam.Beta1 * m[i] + adam.OneMinusBeta1 * g[i];
                v[i] = adam.Beta2 * v[i] + adam.OneMinusBeta2 * (g[i] * g[i]);
                p[i] -= adam.StepSize * (m[i] / (T.Sqrt(v[i] / adam.BiasCorrection2) + adam.Epsilon));
            }
        }
    }
}
