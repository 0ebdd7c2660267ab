namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// Fractions of a function's energy over the p×p grid of (a, b) in each 2-D Fourier component
/// (<see cref="Fourier.ComponentFractions"/>). Per-frequency lists hold frequency k = 1..(p−1)/2 at index k−1;
/// all fractions together sum to one (up to rounding).
/// </summary>
/// <param name="P">The modulus.</param>
/// <param name="TotalEnergy">Σ f(a, b)².</param>
/// <param name="Constant">The constant component.</param>
/// <param name="CosA">cos(ω_k a) alone (constant in b).</param>
/// <param name="SinA">sin(ω_k a) alone.</param>
/// <param name="CosB">cos(ω_k b) alone.</param>
/// <param name="SinB">sin(ω_k b) alone.</param>
/// <param name="CosACosB">cos(ω_k a)·cos(ω_k b).</param>
/// <param name="CosASinB">cos(ω_k a)·sin(ω_k b).</param>
/// <param name="SinACosB">sin(ω_k a)·cos(ω_k b).</param>
/// <param name="SinASinB">sin(ω_k a)·sin(ω_k b).</param>
/// <param name="CrossFrequency">All products of an a-term and a b-term of different frequencies, pooled.</param>
public sealed record FourierComponents(
    int P, double TotalEnergy, double Constant,
    IReadOnlyList<double> CosA, IReadOnlyList<double> SinA, IReadOnlyList<double> CosB, IReadOnlyList<double> SinB,
    IReadOnlyList<double> CosACosB, IReadOnlyList<double> CosASinB, IReadOnlyList<double> SinACosB, IReadOnlyList<double> SinASinB,
    double CrossFrequency)
{
    /// <summary>Frequency k's total share: its four single terms and four same-frequency products.</summary>
    public double Frequency(int k) =>
        CosA[k - 1] + SinA[k - 1] + CosB[k - 1] + SinB[k - 1] + CosACosB[k - 1] + CosASinB[k - 1] + SinACosB[k - 1] + SinASinB[k - 1];

    /// <summary>The frequency with the largest <see cref="Frequency"/> share (the lowest k on ties) and that share.</summary>
    public (int Frequency, double Share) Dominant()
    {
        int best = 1;
        for (int k = 2; k <= (P - 1) / 2; k++)
            if (Frequency(k) > Frequency(best)) best = k;
        return (best, Frequency(best));
    }

    /// <summary>Frequency k's share in the product terms alone (what a(b)-interaction features such as cos(ω(a+b)) occupy).</summary>
    public double Products(int k) => CosACosB[k - 1] + CosASinB[k - 1] + SinACosB[k - 1] + SinASinB[k - 1];
}
