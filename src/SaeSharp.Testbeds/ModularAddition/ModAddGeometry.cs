using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// The circle geometry of a modular-addition host's number embedding wte[0..p), per key frequency, and its grokking
/// steps: what the harmonic loss (Baek et al. 2025) is reported to make cleaner than cross-entropy.
/// </summary>
/// <remarks>
/// For frequency f the embedding's Fourier coefficients u = Σ_a E_a cos(2πfa/p), v = Σ_a E_a sin(2πfa/p) span a plane;
/// the centred embedding projected on it (orthonormal basis) gives points z_a ∈ ℂ. A perfect circle is
/// z_a = λ·e^(2πifa/p) (or its mirror image); the least-squares λ is mean_a z_a·e^(∓2πifa/p), and the circularity is
/// 1 − Σ|z_a − λe_a|² / Σ|z_a|², the better orientation kept. Leakage from other frequencies into the plane and an
/// elliptic (unequal cos and sin) embedding both lower it.
/// </remarks>
public static class ModAddGeometry
{
    /// <summary>Measures <paramref name="host"/>'s embedding at its key frequencies.</summary>
    public static ModAddGeometryResult Measure(ModAddResult host)
    {
        int p = host.Config.P;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var embeddingPD = host.Model.TokenEmbedding.detach().narrow(0, 0, p).to_type(ScalarType.Float64);
        var circles = host.KeyFrequencies.Frequencies.Order()
            .Select(f => Circle(embeddingPD, p, f, host.KeyFrequencies.NormFractions[f - 1])).ToArray();
        double weight = circles.Sum(c => c.NormFraction);
        double mean = weight > 0 ? circles.Sum(c => c.Circularity * c.NormFraction) / weight : double.NaN;
        return new ModAddGeometryResult(host.Config.Loss, circles, mean, host.KeyFrequencies.Explained,
            host.StepsToMemorize, host.StepsToGeneralize, host.TestAccuracy);
    }

    /// <summary>The circularity of an embedding <c>[p, D]</c> at frequency <paramref name="frequency"/>.</summary>
    /// <exception cref="SaeSharpException">The frequency is outside 1..(p−1)/2 or the embedding is not <c>[p, D]</c>.</exception>
    public static EmbeddingCircle Circle(Tensor embeddingPD, int p, int frequency, double normFraction = double.NaN)
    {
        if (embeddingPD.dim() != 2 || embeddingPD.shape[0] != p)
            throw new SaeSharpException($"has shape [{string.Join(", ", embeddingPD.shape)}]; expected [{p}, D]", field: "embedding");
        if (frequency < 1 || frequency > (p - 1) / 2)
            throw new SaeSharpException($"is {frequency}; must lie in 1..{(p - 1) / 2}", field: "frequency");
        using var scope = NewDisposeScope();
        var ePD = embeddingPD.to_type(ScalarType.Float64);
        var centredPD = ePD.sub(ePD.mean([0L], keepdim: true));
        var angles = Enumerable.Range(0, p).Select(a => 2 * Math.PI * frequency * a / p).ToArray();
        var cosP = tensor(angles.Select(Math.Cos).ToArray(), ScalarType.Float64);
        var sinP = tensor(angles.Select(Math.Sin).ToArray(), ScalarType.Float64);
        var planeD2 = stack([cosP.matmul(centredPD), sinP.matmul(centredPD)], 1);
        var (q, _) = linalg.qr(planeD2);
        var zP2 = centredPD.matmul(q);
        var x = zP2.select(1, 0).data<double>().ToArray();
        var y = zP2.select(1, 1).data<double>().ToArray();
        double total = 0;
        for (int a = 0; a < p; a++) total += x[a] * x[a] + y[a] * y[a];
        double best = double.NegativeInfinity;
        foreach (int orientation in new[] { 1, -1 })
        {
            // λ = mean z·conj(e), e = e^(i·orientation·angle).
            double lr = 0, li = 0;
            for (int a = 0; a < p; a++)
            {
                double c = Math.Cos(angles[a]), s = orientation * Math.Sin(angles[a]);
                lr += x[a] * c + y[a] * s;
                li += y[a] * c - x[a] * s;
            }
            lr /= p;
            li /= p;
            double residual = 0;
            for (int a = 0; a < p; a++)
            {
                double c = Math.Cos(angles[a]), s = orientation * Math.Sin(angles[a]);
                double rx = x[a] - (lr * c - li * s), ry = y[a] - (lr * s + li * c);
                residual += rx * rx + ry * ry;
            }
            best = Math.Max(best, total > 0 ? 1 - residual / total : 0);
        }
        var singular = linalg.svdvals(zP2).data<double>().ToArray();
        double axisRatio = singular[0] > 0 ? singular[1] / singular[0] : 0;
        return new EmbeddingCircle(frequency, normFraction, best, axisRatio);
    }
}
