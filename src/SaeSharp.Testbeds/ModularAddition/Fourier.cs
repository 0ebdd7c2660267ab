using static TorchSharp.torch;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// Fourier analysis over Z_p, the lens through which the modular-addition host is understood
/// (Nanda et al. 2023): the orthonormal 1-D basis, a model's key frequencies from its embedding,
/// how a function over (a, b) splits into 2-D Fourier components, and the restricted/excluded losses.
/// </summary>
/// <remarks>
/// Basis row 0 is the constant 1/√p; rows 2k−1 and 2k are √(2/p)·cos(2πkx/p) and √(2/p)·sin(2πkx/p)
/// for k = 1..(p−1)/2 (p odd). Squared norms ("energy") are used throughout: by orthonormality the squared
/// norm of a vector equals the sum of its squared coefficients, so the fractions add to one.
/// </remarks>
public static class Fourier
{
    /// <summary>The orthonormal Fourier basis over Z_p <c>[p, p]</c> (float32 unless <paramref name="dtype"/> says otherwise): row i is basis vector i, column x its value at x.</summary>
    /// <exception cref="SaeSharpException">p is not odd and at least 3.</exception>
    public static Tensor Basis(int p, ScalarType dtype = ScalarType.Float32)
    {
        CheckP(p);
        var values = new double[p * p];
        for (int x = 0; x < p; x++) values[x] = 1.0 / Math.Sqrt(p);
        double scale = Math.Sqrt(2.0 / p);
        for (int k = 1; k <= (p - 1) / 2; k++)
            for (int x = 0; x < p; x++)
            {
                // (k·x) mod p keeps the angle small so cos/sin stay exact to double precision.
                double angle = 2 * Math.PI * ((long)k * x % p) / p;
                values[(2 * k - 1) * p + x] = scale * Math.Cos(angle);
                values[2 * k * p + x] = scale * Math.Sin(angle);
            }
        var basis64 = tensor(values, [p, p]);
        if (dtype == ScalarType.Float64) return basis64;
        using (basis64) return basis64.to_type(dtype);
    }

    /// <summary>A readable name of basis row <paramref name="index"/>: <c>const</c>, <c>cos 3</c>, <c>sin 3</c>.</summary>
    public static string ComponentName(int index) =>
        index == 0 ? "const" : (index % 2 == 1 ? "cos " : "sin ") + ((index + 1) / 2);

    /// <summary>
    /// The key frequencies of a modular-addition model from its number-token embedding <c>[p, D]</c>
    /// (the first p rows of <c>wte</c>): each frequency k's squared norm is ‖Bᵢ·W‖² summed over its cos and
    /// sin rows, as a fraction of ‖W‖² (constant row included). The key set is the top-ranked frequencies
    /// cut at the largest ratio between consecutive fractions among the first <paramref name="maxCount"/>+1,
    /// considering only cuts whose cumulative fraction reaches <paramref name="minFraction"/> (or all of
    /// the first <paramref name="maxCount"/> if none does).
    /// </summary>
    public static FourierKeyFrequencies KeyFrequencies(Tensor embeddingPD, double minFraction = 0.9, int maxCount = 8)
    {
        if (embeddingPD.dim() != 2)
            throw new SaeSharpException($"embedding has shape [{string.Join(", ", embeddingPD.shape)}]; expected [p, D]", field: "embedding");
        int p = (int)embeddingPD.shape[0];
        CheckP(p);
        using var scope = NewDisposeScope();
        var basis = Basis(p, ScalarType.Float64);
        var coefficientsPD = basis.matmul(embeddingPD.detach().cpu().to_type(ScalarType.Float64));
        var energyP = coefficientsPD.pow(HeldScalars.Two).sum(1).data<double>().ToArray();
        double total = energyP.Sum();
        int frequencyCount = (p - 1) / 2;
        var fractions = new double[frequencyCount];
        for (int k = 1; k <= frequencyCount; k++)
            fractions[k - 1] = total > 0 ? (energyP[2 * k - 1] + energyP[2 * k]) / total : 0;

        var key = CutKeySet(fractions, minFraction, maxCount);
        return new FourierKeyFrequencies(p, key, fractions, total > 0 ? energyP[0] / total : 0, key.Sum(k => fractions[k - 1]));
    }

    /// <summary>
    /// The frequencies a model carries at a point of its residual stream: how the variance of activations over all p²
    /// inputs <c>[p², D]</c> (rows a·p + b) spreads over frequencies, summed over the D dimensions (each frequency's
    /// share counts its terms in a alone, in b alone and their same-frequency products, as
    /// <see cref="FourierComponents.Frequency"/> does), cut into a key set by the same rule as <see cref="KeyFrequencies"/>.
    /// </summary>
    /// <remarks>
    /// The embedding's key set says which frequencies a model learned; this one says which of them are present where
    /// a dictionary reads. They differ: the grokking host's attention passes some embedding frequencies on to the
    /// <c>=</c> position only weakly, so a frequency can be key in the embedding and all but absent at
    /// <c>resid_mid.0</c>. <see cref="FourierKeyFrequencies.ConstantFraction"/> is 0 here (the mean is removed).
    /// </remarks>
    /// <exception cref="SaeSharpException">The activations are not <c>[p², D]</c> or p is not odd.</exception>
    public static FourierKeyFrequencies ActivationKeyFrequencies(Tensor activationsND, int p, double minFraction = 0.9, int maxCount = 8)
    {
        CheckP(p);
        if (activationsND.dim() != 2 || activationsND.shape[0] != (long)p * p)
            throw new SaeSharpException($"activations have shape [{string.Join(", ", activationsND.shape)}]; expected [p² = {p * p}, D]", field: "activations");
        using var scope = NewDisposeScope();
        var centredND = activationsND.detach().cpu().to_type(ScalarType.Float64);
        centredND = centredND.sub(centredND.mean([0], keepdim: true));
        var basis = Basis(p, ScalarType.Float64);
        // Each dimension as a function over the (a, b) grid, transformed at once: B·f_d·Bᵀ for every d.
        var gridsDPP = centredND.t().reshape(-1, p, p);
        var energyPP = basis.matmul(gridsDPP).matmul(basis.t()).pow(HeldScalars.Two).sum([0]);
        var energy = energyPP.data<double>().ToArray();
        double total = energy.Sum();
        int frequencyCount = (p - 1) / 2;
        var fractions = new double[frequencyCount];
        for (int k = 1; k <= frequencyCount; k++)
        {
            int c = 2 * k - 1, s = 2 * k;
            double kEnergy = energy[c * p] + energy[s * p] + energy[c] + energy[s]
                + energy[c * p + c] + energy[c * p + s] + energy[s * p + c] + energy[s * p + s];
            fractions[k - 1] = total > 0 ? kEnergy / total : 0;
        }
        var key = CutKeySet(fractions, minFraction, maxCount);
        return new FourierKeyFrequencies(p, key, fractions, 0, key.Sum(k => fractions[k - 1]));
    }

    /// <summary>
    /// The key set from per-frequency fractions (index k−1 for frequency k): the top-ranked frequencies cut at the
    /// largest ratio between consecutive fractions among the first maxCount+1, considering only cuts whose cumulative
    /// fraction reaches minFraction (or all of the first maxCount if none does). Ascending.
    /// </summary>
    private static int[] CutKeySet(double[] fractions, double minFraction, int maxCount)
    {
        int frequencyCount = fractions.Length;
        var ranked = Enumerable.Range(1, frequencyCount).OrderByDescending(k => fractions[k - 1]).ToArray();
        int limit = Math.Min(maxCount, frequencyCount);
        int best = limit;
        double bestRatio = double.NegativeInfinity, cumulative = 0;
        for (int n = 1; n <= limit; n++)
        {
            cumulative += fractions[ranked[n - 1] - 1];
            if (cumulative < minFraction) continue;
            double next = n < frequencyCount ? fractions[ranked[n] - 1] : 0;
            double ratio = next > 0 ? fractions[ranked[n - 1] - 1] / next : double.PositiveInfinity;
            if (ratio > bestRatio)
            {
                bestRatio = ratio;
                best = n;
            }
        }
        return ranked[..best].Order().ToArray();
    }

    /// <summary>
    /// The 2-D Fourier coefficients of a function over the p×p grid: F = B·f·Bᵀ, float64 <c>[p, p]</c>,
    /// where F[i, j] multiplies basis row i of a times basis row j of b.
    /// </summary>
    public static Tensor Transform2D(Tensor fPP)
    {
        if (fPP.dim() != 2 || fPP.shape[0] != fPP.shape[1])
            throw new SaeSharpException($"function has shape [{string.Join(", ", fPP.shape)}]; expected [p, p] over (a, b)", field: "f");
        int p = (int)fPP.shape[0];
        CheckP(p);
        using var basis = Basis(p, ScalarType.Float64);
        using var f = fPP.detach().cpu().to_type(ScalarType.Float64);
        using var left = basis.matmul(f);
        return left.matmul(basis.t());
    }

    /// <summary>
    /// How the energy (sum of squares) of a function f(a, b) over the p×p grid splits among the 2-D Fourier
    /// components: the constant, the terms in a alone and in b alone, and the products of a- and b-terms
    /// of the same frequency; products of different frequencies are pooled. Pass f minus its mean for
    /// fractions of variance instead.
    /// </summary>
    /// <param name="fPP">f <c>[p, p]</c>, rows indexed by a, columns by b.</param>
    public static FourierComponents ComponentFractions(Tensor fPP)
    {
        using var coefficients = Transform2D(fPP);
        int p = (int)coefficients.shape[0], frequencyCount = (p - 1) / 2;
        var energy = coefficients.pow(HeldScalars.Two).data<double>().ToArray();
        double total = energy.Sum();
        double Fraction(int i, int j) => total > 0 ? energy[i * p + j] / total : 0;

        var cosA = new double[frequencyCount];
        var sinA = new double[frequencyCount];
        var cosB = new double[frequencyCount];
        var sinB = new double[frequencyCount];
        var cosCos = new double[frequencyCount];
        var cosSin = new double[frequencyCount];
        var sinCos = new double[frequencyCount];
        var sinSin = new double[frequencyCount];
        double sameFrequencyProducts = 0;
        for (int k = 1; k <= frequencyCount; k++)
        {
            int c = 2 * k - 1, s = 2 * k;
            cosA[k - 1] = Fraction(c, 0);
            sinA[k - 1] = Fraction(s, 0);
            cosB[k - 1] = Fraction(0, c);
            sinB[k - 1] = Fraction(0, s);
            cosCos[k - 1] = Fraction(c, c);
            cosSin[k - 1] = Fraction(c, s);
            sinCos[k - 1] = Fraction(s, c);
            sinSin[k - 1] = Fraction(s, s);
            sameFrequencyProducts += cosCos[k - 1] + cosSin[k - 1] + sinCos[k - 1] + sinSin[k - 1];
        }
        double allProducts = 0;
        for (int i = 1; i < p; i++)
            for (int j = 1; j < p; j++)
                allProducts += Fraction(i, j);
        return new FourierComponents(p, total, Fraction(0, 0), cosA, sinA, cosB, sinB, cosCos, cosSin, sinCos, sinSin,
            Math.Max(0, allProducts - sameFrequencyProducts));
    }

    /// <summary>
    /// The part of logits over all p² pairs that lies along cos(ω_k(a+b)) and sin(ω_k(a+b)),
    /// ω_k = 2πk/p, for the given frequencies, separately for each output class:
    /// logits <c>[p², C]</c> (row a·p + b) → the same shape.
    /// </summary>
    public static Tensor SumDirectionComponent(Tensor logitsNC, int p, IReadOnlyCollection<int> frequencies)
    {
        CheckP(p);
        if (logitsNC.dim() != 2 || logitsNC.shape[0] != (long)p * p)
            throw new SaeSharpException($"logits have shape [{string.Join(", ", logitsNC.shape)}]; expected [p² = {p * p}, classes]", field: "logits");
        using var scope = NewDisposeScope();
        var directions = new double[frequencies.Count * 2 * p * p];
        int row = 0;
        foreach (int k in frequencies)
        {
            if (k < 1 || k > (p - 1) / 2)
                throw new SaeSharpException($"frequency {k} is outside 1..{(p - 1) / 2}", field: "frequencies");
            // cos(ω(a+b)) over the grid has squared norm p²/2, so √2/p normalises it.
            double scale = Math.Sqrt(2.0) / p;
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                {
                    double angle = 2 * Math.PI * ((long)k * (a + b) % p) / p;
                    directions[(2 * row) * p * p + a * p + b] = scale * Math.Cos(angle);
                    directions[(2 * row + 1) * p * p + a * p + b] = scale * Math.Sin(angle);
                }
            row++;
        }
        var basisMN = tensor(directions, [frequencies.Count * 2, (long)p * p]).to_type(logitsNC.dtype).to(logitsNC.device);
        return basisMN.t().matmul(basisMN.matmul(logitsNC)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Restricted loss: mean cross-entropy over all p² pairs of the logits kept to the key frequencies'
    /// cos/sin(ω(a+b)) directions plus each class's mean logit. Low once the model computes with those
    /// frequencies alone.
    /// </summary>
    /// <param name="logitsNC">logits at the <c>=</c> position for all pairs, <c>[p², p]</c>, row a·p + b.</param>
    /// <param name="labelsN">(a + b) mod p, int64 <c>[p²]</c>.</param>
    /// <param name="p">The modulus.</param>
    /// <param name="keyFrequencies">The frequencies to keep.</param>
    public static double RestrictedLoss(Tensor logitsNC, Tensor labelsN, int p, IReadOnlyCollection<int> keyFrequencies)
    {
        using var scope = NewDisposeScope();
        var restricted = SumDirectionComponent(logitsNC, p, keyFrequencies).add(logitsNC.mean([0], keepdim: true));
        return nn.functional.cross_entropy(restricted, labelsN).item<float>();
    }

    /// <summary>
    /// Excluded loss: mean cross-entropy on the given (training) pairs of the logits with the key frequencies'
    /// cos/sin(ω(a+b)) directions removed. Rises as the model comes to rely on them.
    /// </summary>
    /// <param name="logitsNC">logits for all pairs, <c>[p², p]</c>, row a·p + b.</param>
    /// <param name="labelsN">(a + b) mod p, int64 <c>[p²]</c>.</param>
    /// <param name="pairIndices">int64 <c>[M]</c>: the pairs to average over (the training set).</param>
    /// <param name="p">The modulus.</param>
    /// <param name="keyFrequencies">The frequencies to remove.</param>
    public static double ExcludedLoss(Tensor logitsNC, Tensor labelsN, Tensor pairIndices, int p, IReadOnlyCollection<int> keyFrequencies)
    {
        using var scope = NewDisposeScope();
        var excluded = logitsNC.sub(SumDirectionComponent(logitsNC, p, keyFrequencies));
        return nn.functional.cross_entropy(excluded.index_select(0, pairIndices), labelsN.index_select(0, pairIndices)).item<float>();
    }

    private static void CheckP(int p)
    {
        if (p < 3 || p % 2 == 0)
            throw new SaeSharpException($"is {p}; the Fourier basis here needs an odd p ≥ 3", field: "p");
    }
}
