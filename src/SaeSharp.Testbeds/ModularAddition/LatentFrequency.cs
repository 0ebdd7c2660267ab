namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>One live latent of an SAE on the modular-addition host, described in the Fourier basis over (a, b).</summary>
/// <param name="Latent">The latent's index.</param>
/// <param name="FiringFraction">Share of the p² inputs on which it is non-zero.</param>
/// <param name="DominantFrequency">The frequency k with the largest share of the activation's variance over the grid.</param>
/// <param name="DominantShare">That frequency's share of the variance (constant component excluded).</param>
/// <param name="IsKeyFrequency">Whether <paramref name="DominantFrequency"/> is one of the host's key frequencies.</param>
/// <param name="Pure">Dominated by a key frequency: <paramref name="IsKeyFrequency"/>, with <paramref name="DominantShare"/> at least the analysis threshold.</param>
public sealed record LatentFrequency(int Latent, double FiringFraction, int DominantFrequency, double DominantShare, bool IsKeyFrequency, bool Pure);
