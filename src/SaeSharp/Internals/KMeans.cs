namespace SaeSharp.Internals;

/// <summary>
/// Lloyd's k-means with k-means++ seeding and several seeded restarts, keeping the lowest inertia (scikit-learn's
/// defaults: 10 restarts, 300 iterations). Small inputs only (spectral embeddings of at most a few thousand points).
/// </summary>
internal static class KMeans
{
    /// <summary>Cluster of each point, 0 … k − 1.</summary>
    public static int[] Cluster(double[][] points, int k, int seed, int restarts = 10, int maxIterations = 300)
    {
        var random = new Random(seed);
        int[]? best = null;
        double bestInertia = double.PositiveInfinity;
        for (int r = 0; r < restarts; r++)
        {
            var (labels, inertia) = Run(points, k, random, maxIterations);
            if (inertia < bestInertia)
            {
                bestInertia = inertia;
                best = labels;
            }
        }
        return best!;
    }

    private static (int[] Labels, double Inertia) Run(double[][] points, int k, Random random, int maxIterations)
    {
        int n = points.Length, dim = points[0].Length;
        var centres = SeedPlusPlus(points, k, random);
        var labels = new int[n];
        double inertia = 0;
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            bool changed = iteration == 0;
            inertia = 0;
            for (int i = 0; i < n; i++)
            {
                int nearest = 0;
                double nearestDistance = double.PositiveInfinity;
                for (int c = 0; c < k; c++)
                {
                    double distance = SquaredDistance(points[i], centres[c]);
                    if (distance < nearestDistance)
                    {
                        nearestDistance = distance;
                        nearest = c;
                    }
                }
                if (labels[i] != nearest) changed = true;
                labels[i] = nearest;
                inertia += nearestDistance;
            }
            if (!changed) break;
            var sums = new double[k][];
            var counts = new int[k];
            for (int c = 0; c < k; c++) sums[c] = new double[dim];
            for (int i = 0; i < n; i++)
            {
                counts[labels[i]]++;
                for (int j = 0; j < dim; j++) sums[labels[i]][j] += points[i][j];
            }
            for (int c = 0; c < k; c++)
            {
                // An emptied cluster keeps its centre; it may win points back on the next pass.
                if (counts[c] == 0) continue;
                for (int j = 0; j < dim; j++) centres[c][j] = sums[c][j] / counts[c];
            }
        }
        return (labels, inertia);
    }

    private static double[][] SeedPlusPlus(double[][] points, int k, Random random)
    {
        int n = points.Length;
        var centres = new double[k][];
        centres[0] = (double[])points[random.Next(n)].Clone();
        var nearest = new double[n];
        for (int i = 0; i < n; i++) nearest[i] = SquaredDistance(points[i], centres[0]);
        for (int c = 1; c < k; c++)
        {
            double total = nearest.Sum();
            int chosen = random.Next(n);
            if (total > 0)
            {
                double target = random.NextDouble() * total, running = 0;
                for (int i = 0; i < n; i++)
                {
                    running += nearest[i];
                    if (running >= target)
                    {
                        chosen = i;
                        break;
                    }
                }
            }
            centres[c] = (double[])points[chosen].Clone();
            for (int i = 0; i < n; i++) nearest[i] = Math.Min(nearest[i], SquaredDistance(points[i], centres[c]));
        }
        return centres;
    }

    private static double SquaredDistance(double[] a, double[] b)
    {
        double sum = 0;
        for (int j = 0; j < a.Length; j++)
        {
            double t = a[j] - b[j];
            sum += t * t;
        }
        return sum;
    }
}
