using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace SaeSharp.Internals;

/// <summary>
/// L2-regularised logistic regression fitted by MathNet's L-BFGS, with the regularisation chosen by cross-validated
/// AUROC as in Kantamneni et al.'s SAE-Probes: leave-2-out for n ≤ 12, 6-fold stratified for n &lt; 128, otherwise one
/// stratified hold-out of min(20%, 100) rows. Features are standardised on the rows a fit sees.
/// </summary>
internal static class LogisticProbe
{
    // L-BFGS stops once the gradient's Euclidean norm is below this.
    private const double GradientTolerance = 1e-7;

    /// <summary>
    /// Chooses C on the training rows, refits on all of them and returns the test rows' logits, the C and how many of
    /// the fits stopped at the iteration limit (their lowest-objective iterate is used, as scikit-learn keeps its last
    /// iterate with a ConvergenceWarning: weakly regularised probes on separable rows approach their optimum slowly).
    /// </summary>
    /// <param name="trainX">Training features <c>[n, p]</c>.</param>
    /// <param name="trainY">Training labels, 0 or 1, both present.</param>
    /// <param name="testX">Test features <c>[m, p]</c>.</param>
    /// <param name="grid">Candidate inverse strengths C.</param>
    /// <param name="maxIterations">L-BFGS iteration limit per fit.</param>
    /// <param name="random">Shuffles the cross-validation folds.</param>
    public static (double[] TestLogits, double C, int FitsAtLimit) FitAndScore(
        Matrix<double> trainX, double[] trainY, Matrix<double> testX, IReadOnlyList<double> grid, int maxIterations, Random random)
    {
        var folds = Folds(trainY, random);
        int atLimit = 0;
        double bestC = grid[0], bestScore = double.NegativeInfinity;
        foreach (double c in grid)
        {
            double total = 0;
            int counted = 0;
            foreach (var held in folds)
            {
                var heldSet = held.ToHashSet();
                int[] kept = [.. Enumerable.Range(0, trainY.Length).Where(i => !heldSet.Contains(i))];
                var logits = Fit(Rows(trainX, kept), [.. kept.Select(i => trainY[i])], Rows(trainX, held), c, maxIterations, ref atLimit);
                double auroc = Auroc(logits, [.. held.Select(i => trainY[i])]);
                if (double.IsNaN(auroc)) continue;
                total += auroc;
                counted++;
            }
            double score = counted == 0 ? double.NaN : total / counted;
            // Ties go to the stronger regularisation (the grid's earlier, smaller C when sorted).
            if (score > bestScore + 1e-12)
            {
                bestScore = score;
                bestC = c;
            }
        }
        var testLogits = Fit(trainX, trainY, testX, bestC, maxIterations, ref atLimit);
        return (testLogits, bestC, atLimit);
    }

    /// <summary>AUROC by the Mann–Whitney rank sum, ties averaged; NaN when one class is absent.</summary>
    public static double Auroc(double[] scores, double[] labels)
    {
        int n = scores.Length;
        int[] order = [.. Enumerable.Range(0, n).OrderBy(i => scores[i])];
        double positiveRankSum = 0;
        long positives = 0;
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]]) end++;
            double rank = (start + end) / 2.0 + 1;
            for (int i = start; i <= end; i++)
                if (labels[order[i]] > 0.5) { positiveRankSum += rank; positives++; }
            start = end + 1;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    // Fits on (x, y) with inverse strength c and returns the logits of the other rows.
    private static double[] Fit(Matrix<double> x, double[] y, Matrix<double> other, double c, int maxIterations, ref int atLimit)
    {
        int n = x.RowCount, p = x.ColumnCount;
        var (mean, scale) = Standardiser(x);
        var design = Design(x, mean, scale);
        var target = Vector<double>.Build.Dense(y);
        double lambda = 1 / (c * n);

        (double, Vector<double>) LossAndGradient(Vector<double> w)
        {
            var z = design * w;
            double loss = 0;
            var residual = Vector<double>.Build.Dense(n);
            for (int i = 0; i < n; i++)
            {
                double zi = z[i];
                // log(1 + e^z) − y·z, written to stay finite for large |z|.
                loss += Math.Max(zi, 0) + Math.Log(1 + Math.Exp(-Math.Abs(zi))) - target[i] * zi;
                residual[i] = 1 / (1 + Math.Exp(-zi)) - target[i];
            }
            var gradient = design.TransposeThisAndMultiply(residual).Divide(n);
            double penalty = 0;
            for (int j = 0; j < p; j++)
            {
                penalty += w[j] * w[j];
                gradient[j] += lambda * w[j];
            }
            return (loss / n + lambda * penalty / 2, gradient);
        }

        // MathNet asks for the value and the gradient at the same point one after the other: compute both once, and
        // remember the lowest objective seen for a fit that reaches the iteration limit.
        Vector<double>? lastPoint = null, bestPoint = null;
        (double Loss, Vector<double> Gradient) last = default;
        double bestLoss = double.PositiveInfinity;
        (double Loss, Vector<double> Gradient) Evaluate(Vector<double> w)
        {
            if (lastPoint is null || !lastPoint.Equals(w))
            {
                last = LossAndGradient(w);
                lastPoint = w.Clone();
                if (last.Loss < bestLoss)
                {
                    bestLoss = last.Loss;
                    bestPoint = lastPoint;
                }
            }
            return last;
        }

        var objective = ObjectiveFunction.Gradient(w => Evaluate(w).Loss, w => Evaluate(w).Gradient);
        var minimizer = new LimitedMemoryBfgsMinimizer(GradientTolerance, 1e-10, 1e-12, memory: 10, maximumIterations: maxIterations);
        Vector<double> weights;
        try
        {
            var result = minimizer.FindMinimum(objective, Vector<double>.Build.Dense(p + 1));
            weights = result.MinimizingPoint;
            // MathNet 5's L-BFGS leaves its loop after MaximumIterations with the exit condition "AbsoluteGradient"
            // whatever the gradient (it throws only when the limit and its last check coincide): ask the gradient.
            if (result.Iterations >= maxIterations && LossAndGradient(weights).Item2.L2Norm() >= GradientTolerance) atLimit++;
        }
        catch (MaximumIterationsException) when (bestPoint is not null)
        {
            weights = bestPoint;
            atLimit++;
        }
        catch (OptimizationException exception)
        {
            throw new SaeSharpException($"the logistic probe (C = {c}) failed: {exception.Message}", field: "max_iterations");
        }
        return (Design(other, mean, scale) * weights).ToArray();
    }

    private static (double[] Mean, double[] Scale) Standardiser(Matrix<double> x)
    {
        int p = x.ColumnCount;
        var mean = new double[p];
        var scale = new double[p];
        for (int j = 0; j < p; j++)
        {
            var column = x.Column(j);
            mean[j] = column.Average();
            double variance = column.Sum(v => (v - mean[j]) * (v - mean[j])) / column.Count;
            // A constant column carries nothing; scale 1 keeps it at zero instead of dividing by zero.
            scale[j] = variance > 0 ? Math.Sqrt(variance) : 1;
        }
        return (mean, scale);
    }

    // Standardised features with a trailing column of ones for the (unpenalised) intercept.
    private static Matrix<double> Design(Matrix<double> x, double[] mean, double[] scale) =>
        Matrix<double>.Build.Dense(x.RowCount, x.ColumnCount + 1, (i, j) => j == x.ColumnCount ? 1 : (x[i, j] - mean[j]) / scale[j]);

    private static Matrix<double> Rows(Matrix<double> x, int[] rows) =>
        Matrix<double>.Build.Dense(rows.Length, x.ColumnCount, (i, j) => x[rows[i], j]);

    private static List<int[]> Folds(double[] y, Random random)
    {
        int n = y.Length;
        int[] positives = [.. Enumerable.Range(0, n).Where(i => y[i] > 0.5).OrderBy(_ => random.Next())];
        int[] negatives = [.. Enumerable.Range(0, n).Where(i => y[i] <= 0.5).OrderBy(_ => random.Next())];
        if (n <= 12)
        {
            // Leave-2-out: each fold one positive and one negative, so every fold's AUROC is defined.
            int pairs = Math.Min(positives.Length, negatives.Length);
            return [.. Enumerable.Range(0, pairs).Select(i => new[] { positives[i], negatives[i] })];
        }
        if (n < 128)
        {
            var folds = Enumerable.Range(0, 6).Select(_ => new List<int>()).ToArray();
            for (int i = 0; i < positives.Length; i++) folds[i % 6].Add(positives[i]);
            for (int i = 0; i < negatives.Length; i++) folds[i % 6].Add(negatives[i]);
            return [.. folds.Where(f => f.Count > 0).Select(f => f.ToArray())];
        }
        int held = Math.Min((int)(0.2 * n), 100);
        int heldPositives = (int)Math.Round(held * (double)positives.Length / n);
        return [[.. positives.Take(heldPositives), .. negatives.Take(held - heldPositives)]];
    }
}
