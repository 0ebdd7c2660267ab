using static TorchSharp.torch;

namespace SaeSharp.Internals;

/// <summary>The geometric median of rows by Weiszfeld's iteration (initialises b_dec, as in sparsify and dictionary_learning).</summary>
internal static class GeometricMedian
{
    /// <summary>Points <c>[N, D]</c> → median <c>[D]</c> (float64 internally).</summary>
    public static Tensor Compute(Tensor pointsND, int maxIterations = 100, double tolerance = 1e-6)
    {
        using var scope = NewDisposeScope();
        var points = pointsND.to(ScalarType.Float64);
        var guess = points.mean([0]);
        for (int i = 0; i < maxIterations; i++)
        {
            var distances = points.sub(guess).norm(1).clamp_min(1e-12);
            var weights = distances.reciprocal();
            weights.div_(weights.sum());
            var next = weights.unsqueeze(1).mul(points).sum([0]);
            bool converged = next.sub(guess).norm().item<double>() < tolerance;
            guess = next;
            if (converged) break;
        }
        return guess.to(pointsND.dtype).MoveToOuterDisposeScope();
    }
}
