using static TorchSharp.torch;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// The data of modular addition mod p: every pair (a, b) as the input <c>a b =</c> (token p is <c>=</c>)
/// with label (a + b) mod p, ordered a-major (pair index a·p + b), and a seeded train/test split.
/// </summary>
public static class ModAddTask
{
    /// <summary>All p² inputs, int64 <c>[p², 3]</c>, row a·p + b = (a, b, p).</summary>
    public static Tensor AllInputs(int p)
    {
        var ids = new long[p * p * 3];
        for (int a = 0; a < p; a++)
            for (int b = 0; b < p; b++)
            {
                int row = (a * p + b) * 3;
                ids[row] = a;
                ids[row + 1] = b;
                ids[row + 2] = p;
            }
        return tensor(ids, [p * p, 3]);
    }

    /// <summary>All p² labels (a + b) mod p, int64 <c>[p²]</c>, in the order of <see cref="AllInputs"/>.</summary>
    public static Tensor AllLabels(int p)
    {
        var labels = new long[p * p];
        for (int a = 0; a < p; a++)
            for (int b = 0; b < p; b++)
                labels[a * p + b] = (a + b) % p;
        return tensor(labels, [p * p]);
    }

    /// <summary>
    /// Pair indices of the training and test sets: a Fisher-Yates shuffle of 0..p²−1 seeded with
    /// <paramref name="seed"/> (System.Random's seeded sequence, stable across .NET versions), the first
    /// round(fraction·p²) for training, sorted.
    /// </summary>
    public static (long[] Train, long[] Test) Split(int p, double trainFraction, long seed)
    {
        int n = p * p;
        var order = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        var random = new Random(unchecked((int)(seed ^ (seed >> 32))));
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int trainCount = (int)Math.Round(trainFraction * n);
        var train = order[..trainCount];
        var test = order[trainCount..];
        Array.Sort(train);
        Array.Sort(test);
        return (train, test);
    }
}
