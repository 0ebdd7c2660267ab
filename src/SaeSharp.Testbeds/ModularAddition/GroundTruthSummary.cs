namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>How an SAE's latents line up with the modular-addition host's known mechanism.</summary>
/// <param name="P">The modulus.</param>
/// <param name="KeyFrequencies">The host's key frequencies (from its embedding).</param>
/// <param name="LiveLatents">Latents that fire on at least one input, by decreasing firing fraction.</param>
/// <param name="CoveredFrequencies">Key frequencies that are the dominant frequency of at least one pure latent.</param>
/// <param name="Coverage">|covered| / |key frequencies|.</param>
/// <param name="Purity">Share of live latents that are pure: their dominant frequency is a key frequency holding at least <paramref name="DominanceThreshold"/> of their variance.</param>
/// <param name="DominanceThreshold">The variance share a key frequency needs for a latent to count as pure.</param>
public sealed record GroundTruthSummary(
    int P, IReadOnlyList<int> KeyFrequencies, IReadOnlyList<LatentFrequency> LiveLatents,
    IReadOnlyList<int> CoveredFrequencies, double Coverage, double Purity, double DominanceThreshold)
{
    /// <summary>
    /// <see cref="Purity"/> of as many random directions (ReLU of a random projection of the centred activations) under
    /// the same rule: what purity a dictionary that learned nothing would reach (NaN when not measured).
    /// </summary>
    public double BaselinePurity { get; init; } = double.NaN;
}
