using System.Numerics;

namespace SaeSharp.Training.Fused;

/// <summary>
/// One Adam step's scalars, for the update <see cref="AdamOptimizer"/> applies (and in the same order of
/// operations, so both round alike): <c>p ← p − (lr / (1−β1ᵗ)) · m / (√(v / (1−β2ᵗ)) + ε)</c>.
/// </summary>
internal readonly record struct AdamCoefficients<T>(T Beta1, T OneMinusBeta1, T Beta2, T OneMinusBeta2, T StepSize, T BiasCorrection2, T Epsilon)
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static AdamCoefficients<T> Create(double learningRate, double beta1, double beta2, double epsilon, long step)
    {
        double bc1 = 1 - Math.Pow(beta1, step);
        double bc2 = 1 - Math.Pow(beta2, step);
        return new(T.CreateChecked(beta1), T.CreateChecked(1 - beta1), T.CreateChecked(beta2), T.CreateChecked(1 - beta2),
            T.CreateChecked(learningRate / bc1), T.CreateChecked(bc2), T.CreateChecked(epsilon));
    }
}
