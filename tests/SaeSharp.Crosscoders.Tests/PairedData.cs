using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Tests;

/// <summary>
/// Synthetic paired activations with known structure: sparse non-negative features, each with a random unit
/// direction per source; a shared feature writes to both sources, an A-only feature to source 0 alone, a B-only
/// feature to source 1 alone.
/// </summary>
internal static class PairedData
{
    /// <summary>Rows <c>[N, 2, D]</c>, per-feature truth (0 shared, 1 A-only, 2 B-only) and the features' directions <c>[F, 2, D]</c> (zero in a source it does not write to).</summary>
    public static (Tensor RowsNSD, int[] Kinds, Tensor DirectionsFSD) Create(int rows, int d, int shared, int aOnly, int bOnly, double fireProbability, long seed)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        int features = shared + aOnly + bOnly;
        var kinds = Enumerable.Repeat(0, shared).Concat(Enumerable.Repeat(1, aOnly)).Concat(Enumerable.Repeat(2, bOnly)).ToArray();
        var directionsFSD = randn(features, 2, d, dtype: ScalarType.Float64, generator: generator);
        directionsFSD = directionsFSD.div(directionsFSD.norm(2, keepdim: true));
        var maskFS = ones(features, 2, dtype: ScalarType.Float64);
        for (int f = 0; f < features; f++)
        {
            if (kinds[f] == 1) maskFS[f, 1] = tensor(0.0);
            if (kinds[f] == 2) maskFS[f, 0] = tensor(0.0);
        }
        directionsFSD = directionsFSD.mul(maskFS.unsqueeze(2));
        var firesNF = rand(rows, features, dtype: ScalarType.Float64, generator: generator).lt(fireProbability).to_type(ScalarType.Float64);
        var magnitudesNF = rand(rows, features, dtype: ScalarType.Float64, generator: generator).mul(1.5).add(0.5);
        var codeNF = firesNF.mul(magnitudesNF);
        var rowsNSD = codeNF.matmul(directionsFSD.reshape(features, 2 * d)).view(rows, 2, d).to_type(ScalarType.Float32);
        return (rowsNSD.MoveToOuterDisposeScope(), kinds, directionsFSD.to_type(ScalarType.Float32).MoveToOuterDisposeScope());
    }

    /// <summary>Source s of paired rows as its own <c>[N, D]</c> tensor.</summary>
    public static Tensor Source(Tensor rowsNSD, int s) => rowsNSD.select(1, s).contiguous();
}
