using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// The helix fit of Kantamneni and Tegmark ("Language Models Use Trigonometry to Do Addition", 2025): activations
/// <c>[N, D]</c> of number inputs a are fitted as C·B(a), B(a) = [1, a, cos(2πa/T), sin(2πa/T) for each period T]
/// (<see cref="HelixModel"/>), by least squares in float64, and scored by R² on numbers held out of the fit; beside it,
/// the same helix without the linear term, the linear term alone, a PCA reconstruction with the same parameter count and
/// helices on random periods.
/// </summary>
/// <remarks>
/// The least-squares solution is the pseudo-inverse's (singular values under <see cref="HelixFitOptions.RankTolerance"/>
/// of the largest dropped), so a wave that vanishes on the numbers (sin(πa) on integers) costs nothing and lowers
/// <see cref="HelixFitResult.BasisRank"/>, which sets the PCA baseline's size. The paper first projects the activations
/// onto their top principal components; here the fit is on the activations as they are, which for a per-dimension least
/// squares is the same fit in every direction the projection keeps.
/// </remarks>
public static class HelixFit
{
    /// <summary>Fits and scores the helix of <paramref name="periods"/> on activations <c>[N, D]</c> of <paramref name="numbers"/> (N values).</summary>
    /// <exception cref="SaeSharpException">
    /// Shapes disagree, a value is not finite, there are no periods, or too few distinct numbers remain to fit the basis
    /// (the message says how many are needed).
    /// </exception>
    public static HelixFitResult Fit(Tensor activationsND, IReadOnlyList<double> numbers, IReadOnlyList<double> periods, HelixFitOptions? options = null)
    {
        options = (options ?? new HelixFitOptions()).Validate();
        if (activationsND.dim() != 2)
            throw new SaeSharpException($"have shape [{string.Join(", ", activationsND.shape)}]; expected [N, D]", field: "activations");
        long n = activationsND.shape[0];
        int d = (int)activationsND.shape[1];
        if (numbers.Count != n)
            throw new SaeSharpException($"has {numbers.Count} values for {n} activation rows", field: "numbers");
        if (periods.Count == 0)
            throw new SaeSharpException("is empty; pass at least one period", field: "periods");
        for (int i = 0; i < numbers.Count; i++)
            if (!double.IsFinite(numbers[i])) throw new SaeSharpException($"value {i} is {numbers[i]}", field: "numbers");

        var distinct = numbers.Distinct().Order().ToArray();
        int basisSize = HelixModel.BasisSize(periods.Count, options.IncludeLinear);
        int testCount = Math.Max(1, (int)Math.Round(options.TestFraction * distinct.Length));
        int fitCount = distinct.Length - testCount;
        if (fitCount < basisSize)
            throw new SaeSharpException(
                $"too few numbers: {distinct.Length} distinct, of which {fitCount} fit a basis of {basisSize} functions; pass at least {basisSize + testCount} distinct numbers or fewer periods",
                field: "numbers");

        var rng = new Random(options.Seed);
        var shuffled = distinct.ToArray();
        rng.Shuffle(shuffled);
        var held = shuffled.Take(testCount).ToHashSet();
        var fitRows = Enumerable.Range(0, (int)n).Where(i => !held.Contains(numbers[i])).Select(i => (long)i).ToArray();
        var scoreRows = Enumerable.Range(0, (int)n).Where(i => held.Contains(numbers[i])).Select(i => (long)i).ToArray();

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var xND = activationsND.detach().to_type(ScalarType.Float64);
        if (!xND.isfinite().all().item<bool>())
            throw new SaeSharpException("hold non-finite values", field: "activations");
        var numbersN = tensor(numbers.ToArray(), ScalarType.Float64);
        var fitIndex = tensor(fitRows);
        var scoreIndex = tensor(scoreRows);
        var xFit = xND.index_select(0, fitIndex);
        var xScore = xND.index_select(0, scoreIndex);
        var aFit = numbersN.index_select(0, fitIndex);
        var aScore = numbersN.index_select(0, scoreIndex);
        double scoreVariance = xScore.sub(xScore.mean([0L], keepdim: true)).pow(HeldScalars.Two).sum().item<double>();
        if (!(scoreVariance > 0))
            throw new SaeSharpException("are constant over the held-out numbers; there is no variance to explain", field: "activations");

        var (model, rank) = Solve(xFit, aFit, periods, options.IncludeLinear, options.RankTolerance);
        var (withoutLinear, _) = options.IncludeLinear ? Solve(xFit, aFit, periods, false, options.RankTolerance) : (model, rank);
        var (linearOnly, _) = Solve(xFit, aFit, [], true, options.RankTolerance);

        int components = Math.Max(rank - 1, 1);
        double r2Pca = PcaR2(xFit, xScore, components, scoreVariance);

        double spanMax = options.RandomPeriodMax ?? distinct[^1] - distinct[0] + 1;
        if (!(spanMax > options.RandomPeriodMin))
            throw new SaeSharpException($"the numbers span {spanMax}, not above random_period_min {options.RandomPeriodMin}; set random_period_max", field: "numbers");
        var periodRng = new Random(unchecked(options.Seed * 7919 + 1));
        var randomR2s = new double[options.RandomPeriodTrials];
        for (int trial = 0; trial < randomR2s.Length; trial++)
        {
            double[] randomPeriods;
            if (options.RandomPeriodCandidates is { } candidates)
            {
                if (candidates.Count < periods.Count)
                    throw new SaeSharpException($"has {candidates.Count} periods; the baseline draws {periods.Count} at a time", field: "random_period_candidates");
                var pool = candidates.ToArray();
                periodRng.Shuffle(pool);
                randomPeriods = pool[..periods.Count];
            }
            else
            {
                randomPeriods = periods.Select(_ => options.RandomPeriodMin + periodRng.NextDouble() * (spanMax - options.RandomPeriodMin)).ToArray();
            }
            var (randomModel, _) = Solve(xFit, aFit, randomPeriods, options.IncludeLinear, options.RankTolerance);
            randomR2s[trial] = R2(randomModel, aScore, xScore, scoreVariance);
        }

        return new HelixFitResult(fitRows.Length, scoreRows.Length, fitCount, testCount, [.. periods], basisSize, rank,
            R2(model, aScore, xScore, scoreVariance), R2(withoutLinear, aScore, xScore, scoreVariance), R2(linearOnly, aScore, xScore, scoreVariance),
            components, r2Pca, randomR2s.Length == 0 ? double.NaN : randomR2s.Average(), randomR2s, model, withoutLinear);
    }

    /// <summary>Least squares C = B⁺X through the SVD of the basis, dropping directions below the tolerance; returns the model and the basis rank.</summary>
    private static (HelixModel Model, int Rank) Solve(Tensor xFitND, Tensor aFitN, IReadOnlyList<double> periods, bool includeLinear, double tolerance)
    {
        using var scope = NewDisposeScope();
        var basisNK = HelixModel.Basis(aFitN, periods, includeLinear);
        // Columns scaled to unit norm first, so that the linear term (of size |a|) and the waves (of size 1) meet the same cut-off.
        var scaleK = basisNK.pow(HeldScalars.Two).sum([0L]).sqrt().clamp_min(HeldScalars.One);
        var scaledNK = basisNK.div(scaleK);
        var (u, s, vh) = linalg.svd(scaledNK, fullMatrices: false);
        var sValues = s.data<double>().ToArray();
        double cut = tolerance * sValues.Max();
        int rank = sValues.Count(v => v > cut);
        var inverseS = tensor(sValues.Select(v => v > cut ? 1 / v : 0).ToArray(), ScalarType.Float64);
        var solutionKD = vh.t().mul(inverseS.unsqueeze(0)).matmul(u.t().matmul(xFitND)).div(scaleK.unsqueeze(1));
        var values = solutionKD.contiguous().data<double>().ToArray();
        return (new HelixModel(periods, includeLinear, (int)xFitND.shape[1], values), rank);
    }

    private static double R2(HelixModel model, Tensor aScoreN, Tensor xScoreND, double scoreVariance)
    {
        using var scope = NewDisposeScope();
        var residual = xScoreND.sub(model.Predict(aScoreN)).pow(HeldScalars.Two).sum().item<double>();
        return 1 - residual / scoreVariance;
    }

    /// <summary>R² of the scoring rows reconstructed from the fitting rows' mean and top principal components.</summary>
    private static double PcaR2(Tensor xFitND, Tensor xScoreND, int components, double scoreVariance)
    {
        using var scope = NewDisposeScope();
        var meanD = xFitND.mean([0L], keepdim: true);
        var (_, _, vh) = linalg.svd(xFitND.sub(meanD), fullMatrices: false);
        var topCD = vh.narrow(0, 0, Math.Min(components, vh.shape[0]));
        var centredND = xScoreND.sub(meanD);
        var reconstructedND = centredND.matmul(topCD.t()).matmul(topCD).add(meanD, HeldScalars.One);
        return 1 - xScoreND.sub(reconstructedND).pow(HeldScalars.Two).sum().item<double>() / scoreVariance;
    }
}
