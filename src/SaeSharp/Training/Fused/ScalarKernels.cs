using System.Numerics;

namespace SaeSharp.Training.Fused;

/// <summary>
/// Plain, single-threaded twins of <see cref="TopKKernels"/> and <see cref="SparseKernels"/>, written for
/// obviousness rather than speed: the tests hold the fast kernels to them.
/// </summary>
internal static class ScalarKernels
{
    /// <summary>Top-k of <c>pre[b] + bias</c> per row by a full sort (descending; ties: lower latent first).</summary>
    public static (int[] LatentBK, T[] ValueBK) TopKPerRow<T>(T[] preBL, T[] biasL, int rows, int latents, int k)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var latentBK = new int[rows * k]; var valueBK = new T[rows * k];
        for (int b = 0; b < rows; b++)
        {
            var order = Enumerable.Range(0, latents)
                .OrderByDescending(j => preBL[b * latents + j] + biasL[j]).ThenBy(j => j).Take(k).ToArray();
            for (int i = 0; i < k; i++) { latentBK[b * k + i] = order[i]; valueBK[b * k + i] = preBL[b * latents + order[i]] + biasL[order[i]]; }
        }
        return (latentBK, valueBK);
    }

    /// <summary>BatchTopK by a full sort of every positive <c>pre + bias</c>: returns a dense [B, L] activation matrix.</summary>
    public static T[] BatchTopK<T>(T[] preBL, T[] biasL, int rows, int latents, int total)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var actsBL = new T[rows * latents];
        var positive = Enumerable.Range(0, rows * latents)
            .Select(i => (Index: i, Value: preBL[i] + biasL[i % latents]))
            .Where(t => t.Value > T.Zero)
            .OrderByDescending(t => t.Value).ThenBy(t => t.Index).Take(total);
        foreach (var (index, value) in positive) actsBL[index] = value;
        return actsBL;
    }

    /// <summary>
    /// The whole sparse part of a step from dense activations: decode, losses, gradients of every parameter
    /// and the Adam update with the decoder constraint, all in place on the arrays.
    /// <paramref name="actsBL"/> and <paramref name="auxActsBL"/> are dense [B, L] activations (zero where not selected).
    /// Returns (Σ‖x̂ − x‖², Σ‖ê − (x − x̂)‖²).
    /// </summary>
    public static (double SquaredError, double AuxError) Update<T>(T[] xBD, T[] actsBL, T[]? auxActsBL, int rows, int latents, int dim,
        T auxCoefficient, T[] wEncLD, T[] bEncL, T[] wDecLD, T[] bDecD,
        T[] mWEnc, T[] vWEnc, T[] mBEnc, T[] vBEnc, T[] mWDec, T[] vWDec, T[] mBDec, T[] vBDec,
        AdamCoefficients<T> adam, bool unitNormDecoder)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T two = T.CreateChecked(2.0), batch = T.CreateChecked(rows);
        var gWEnc = new T[latents * dim]; var gBEnc = new T[latents]; var gWDec = new T[latents * dim]; var gBDec = new T[dim];
        double sqErr = 0, auxErr = 0;
        for (int b = 0; b < rows; b++)
        {
            var e = new T[dim]; var xc = new T[dim];
            for (int j = 0; j < dim; j++) { e[j] = bDecD[j]; xc[j] = xBD[b * dim + j] - bDecD[j]; }
            for (int l = 0; l < latents; l++)
                for (int j = 0; j < dim; j++) e[j] += actsBL[b * latents + l] * wDecLD[l * dim + j];
            var g = new T[dim];
            for (int j = 0; j < dim; j++) { e[j] -= xBD[b * dim + j]; g[j] = two * e[j] / batch; sqErr += double.CreateChecked(e[j] * e[j]); gBDec[j] += g[j]; }
            Backward(actsBL, g, b);
            if (auxActsBL is null) continue;
            var r = new T[dim];
            for (int l = 0; l < latents; l++)
                for (int j = 0; j < dim; j++) r[j] += auxActsBL[b * latents + l] * wDecLD[l * dim + j];
            var gAux = new T[dim];
            for (int j = 0; j < dim; j++) { r[j] += e[j]; auxErr += double.CreateChecked(r[j] * r[j]); gAux[j] = auxCoefficient * two * r[j] / batch; }
            Backward(auxActsBL, gAux, b);

            void Backward(T[] acts, T[] gradD, int row)
            {
                for (int l = 0; l < latents; l++)
                {
                    T a = acts[row * latents + l];
                    if (!(a > T.Zero)) continue;
                    T gPre = T.Zero;
                    for (int j = 0; j < dim; j++) gPre += gradD[j] * wDecLD[l * dim + j];
                    for (int j = 0; j < dim; j++)
                    {
                        gWDec[l * dim + j] += a * gradD[j];
                        gWEnc[l * dim + j] += gPre * xc[j];
                        gBDec[j] -= gPre * wEncLD[l * dim + j];
                    }
                    gBEnc[l] += gPre;
                }
            }
        }
        if (unitNormDecoder)
            for (int l = 0; l < latents; l++)
            {
                T gw = T.Zero;
                for (int j = 0; j < dim; j++) gw += gWDec[l * dim + j] * wDecLD[l * dim + j];
                for (int j = 0; j < dim; j++) gWDec[l * dim + j] -= gw * wDecLD[l * dim + j];
            }
        Adam(wEncLD, gWEnc, mWEnc, vWEnc); Adam(bEncL, gBEnc, mBEnc, vBEnc);
        Adam(wDecLD, gWDec, mWDec, vWDec); Adam(bDecD, gBDec, mBDec, vBDec);
        if (unitNormDecoder)
            for (int l = 0; l < latents; l++)
            {
                T ww = T.Zero;
                for (int j = 0; j < dim; j++) ww += wDecLD[l * dim + j] * wDecLD[l * dim + j];
                T norm = T.Max(T.Sqrt(ww), T.CreateChecked(1e-12));
                for (int j = 0; j < dim; j++) wDecLD[l * dim + j] /= norm;
            }
        return (sqErr, auxErr);

        void Adam(T[] p, T[] g, T[] m, T[] v)
        {
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = adam.Beta1 * m[i] + adam.OneMinusBeta1 * g[i];
                v[i] = adam.Beta2 * v[i] + adam.OneMinusBeta2 * (g[i] * g[i]);
                p[i] -= adam.StepSize * (m[i] / (T.Sqrt(v[i] / adam.BiasCorrection2) + adam.Epsilon));
            }
        }
    }
}
