namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>The key frequencies of an embedding over Z_p and how its squared norm spreads over frequencies.</summary>
/// <param name="P">The modulus.</param>
/// <param name="Frequencies">The key frequencies k (ascending), each meaning cos/sin(2πkx/p).</param>
/// <param name="NormFractions">For k = 1..(p−1)/2 at index k−1: frequency k's share of the squared norm.</param>
/// <param name="ConstantFraction">The constant direction's share of the squared norm.</param>
/// <param name="Explained">The key frequencies' combined share of the squared norm.</param>
public sealed record FourierKeyFrequencies(int P, IReadOnlyList<int> Frequencies, IReadOnlyList<double> NormFractions, double ConstantFraction, double Explained);
