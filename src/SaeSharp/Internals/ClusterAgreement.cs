using MathNet.Numerics;

namespace SaeSharp.Internals;

/// <summary>
/// Adjusted mutual information of two clusterings (Vinh, Epps and Bailey 2010), with scikit-learn's default
/// arithmetic-mean normalisation: (MI − E[MI]) / (½·(H(U) + H(V)) − E[MI]), E[MI] under the hypergeometric model of
/// random clusterings with the same cluster sizes. 1 for identical clusterings, about 0 for independent ones.
/// </summary>
internal static class ClusterAgreement
{
    public static double AdjustedMutualInformation(int[] u, int[] v)
    {
        int n = u.Length;
        int[] uLabels = [.. u.Distinct().Order()], vLabels = [.. v.Distinct().Order()];
        // One cluster on both sides (or n points in n clusters on both) is perfect agreement, as scikit-learn has it.
        if ((uLabels.Length == 1 && vLabels.Length == 1) || (uLabels.Length == n && vLabels.Length == n)) return 1.0;
        var uIndex = uLabels.Select((label, i) => (label, i)).ToDictionary(p => p.label, p => p.i);
        var vIndex = vLabels.Select((label, i) => (label, i)).ToDictionary(p => p.label, p => p.i);
        var table = new long[uLabels.Length, vLabels.Length];
        for (int i = 0; i < n; i++) table[uIndex[u[i]], vIndex[v[i]]]++;
        var a = new long[uLabels.Length];
        var b = new long[vLabels.Length];
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < b.Length; j++)
            {
                a[i] += table[i, j];
                b[j] += table[i, j];
            }

        double mi = 0;
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < b.Length; j++)
                if (table[i, j] > 0)
                    mi += (double)table[i, j] / n * Math.Log((double)n * table[i, j] / ((double)a[i] * b[j]));
        double hu = Entropy(a, n), hv = Entropy(b, n);
        double expected = ExpectedMutualInformation(a, b, n);
        double denominator = (hu + hv) / 2 - expected;
        // Guard the 0/0 of degenerate tables the way scikit-learn does: the smallest positive denominator.
        if (Math.Abs(denominator) < double.Epsilon) denominator = denominator < 0 ? -double.Epsilon : double.Epsilon;
        return (mi - expected) / denominator;
    }

    private static double Entropy(long[] counts, int n) =>
        -counts.Where(c => c > 0).Sum(c => (double)c / n * Math.Log((double)c / n));

    private static double ExpectedMutualInformation(long[] a, long[] b, int n)
    {
        double logN = SpecialFunctions.FactorialLn(n), total = 0;
        foreach (long ai in a)
            foreach (long bj in b)
            {
                double fixedPart = SpecialFunctions.FactorialLn((int)ai) + SpecialFunctions.FactorialLn((int)bj)
                    + SpecialFunctions.FactorialLn((int)(n - ai)) + SpecialFunctions.FactorialLn((int)(n - bj)) - logN;
                for (long nij = Math.Max(1, ai + bj - n); nij <= Math.Min(ai, bj); nij++)
                {
                    double logProbability = fixedPart - SpecialFunctions.FactorialLn((int)nij) - SpecialFunctions.FactorialLn((int)(ai - nij))
                        - SpecialFunctions.FactorialLn((int)(bj - nij)) - SpecialFunctions.FactorialLn((int)(n - ai - bj + nij));
                    total += (double)nij / n * Math.Log((double)n * nij / ((double)ai * bj)) * Math.Exp(logProbability);
                }
            }
        return total;
    }
}
