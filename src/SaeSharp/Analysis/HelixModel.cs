using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// A fitted helix: activations of a number a as C·B(a), with B(a) = [1, a (when <see cref="IncludeLinear"/>),
/// cos(2πa/T₁), sin(2πa/T₁), cos(2πa/T₂), ...] over <see cref="Periods"/> and C the <c>[K, D]</c>
/// <see cref="Coefficients"/>. Immutable.
/// </summary>
public sealed class HelixModel
{
    private readonly double[] _coefficientsKD;

    /// <summary>A helix with the given coefficients, row-major <c>[K, D]</c> with K = <see cref="BasisSize"/>(periods, includeLinear).</summary>
    /// <exception cref="SaeSharpException">The coefficients do not have K·D values, or a period is not positive and finite.</exception>
    public HelixModel(IReadOnlyList<double> periods, bool includeLinear, int inputDim, IReadOnlyList<double> coefficientsKD)
    {
        CheckPeriods(periods);
        if (inputDim < 1) throw new SaeSharpException($"is {inputDim}; must be ≥ 1", field: "input_dim");
        int k = BasisSize(periods.Count, includeLinear);
        if (coefficientsKD.Count != (long)k * inputDim)
            throw new SaeSharpException($"has {coefficientsKD.Count} values; a basis of {k} functions into width {inputDim} needs {(long)k * inputDim}", field: "coefficients");
        Periods = [.. periods];
        IncludeLinear = includeLinear;
        InputDim = inputDim;
        _coefficientsKD = [.. coefficientsKD];
    }

    /// <summary>The periods T of the waves.</summary>
    public IReadOnlyList<double> Periods { get; }

    /// <summary>Whether B(a) holds the linear term a.</summary>
    public bool IncludeLinear { get; }

    /// <summary>D: the width of the activations.</summary>
    public int InputDim { get; }

    /// <summary>The coefficients C, row-major <c>[K, D]</c>: row 0 the constant, then a (when linear), then cos and sin per period.</summary>
    public IReadOnlyList<double> Coefficients => _coefficientsKD;

    /// <summary>K: the basis functions for <paramref name="periodCount"/> periods: 1 + (1 if linear) + 2 per period.</summary>
    public static int BasisSize(int periodCount, bool includeLinear) => 1 + (includeLinear ? 1 : 0) + 2 * periodCount;

    /// <summary>The basis B(a) for numbers <c>[N]</c> (any real dtype): <c>[N, K]</c> float64.</summary>
    /// <exception cref="SaeSharpException">The numbers are not one-dimensional, or a period is not positive and finite.</exception>
    public static Tensor Basis(Tensor numbersN, IReadOnlyList<double> periods, bool includeLinear)
    {
        CheckPeriods(periods);
        if (numbersN.dim() != 1)
            throw new SaeSharpException($"numbers have shape [{string.Join(", ", numbersN.shape)}]; expected [N]", field: "numbers");
        using var scope = NewDisposeScope();
        var aN = numbersN.to_type(ScalarType.Float64);
        var columns = new List<Tensor> { ones_like(aN) };
        if (includeLinear) columns.Add(aN);
        foreach (var period in periods)
        {
            using var omega = (2 * Math.PI / period).ToScalar();
            var phaseN = aN.mul(omega);
            columns.Add(phaseN.cos());
            columns.Add(phaseN.sin());
        }
        return stack(columns, 1).MoveToOuterDisposeScope();
    }

    /// <summary>The fitted activations C·B(a) for numbers <c>[N]</c>: <c>[N, D]</c> float64.</summary>
    public Tensor Predict(Tensor numbersN)
    {
        using var scope = NewDisposeScope();
        var basisNK = Basis(numbersN, Periods, IncludeLinear);
        var coefficientsKD = tensor(_coefficientsKD, [basisNK.shape[1], InputDim], ScalarType.Float64);
        return basisNK.matmul(coefficientsKD).MoveToOuterDisposeScope();
    }

    private static void CheckPeriods(IReadOnlyList<double> periods)
    {
        foreach (var period in periods)
            if (!(period > 0) || double.IsInfinity(period))
                throw new SaeSharpException($"period {period} must be positive and finite", field: "periods");
    }
}
