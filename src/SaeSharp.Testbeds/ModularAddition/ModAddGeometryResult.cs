namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>The geometry of a modular-addition host's number embedding and when it grokked (<see cref="ModAddGeometry"/>).</summary>
/// <param name="Loss">The loss the host was trained with.</param>
/// <param name="Circles">One entry per key frequency, ascending.</param>
/// <param name="MeanCircularity">The circularities' mean, weighted by the frequencies' norm fractions.</param>
/// <param name="KeyFrequencyNormFraction">The key frequencies' share of the embedding's squared norm.</param>
/// <param name="StepsToMemorize">First logged step with train accuracy above 99%, or null.</param>
/// <param name="StepsToGeneralize">First logged step with test accuracy above 99%, or null.</param>
/// <param name="TestAccuracy">The final test accuracy.</param>
public sealed record ModAddGeometryResult(
    ModAddLoss Loss, IReadOnlyList<EmbeddingCircle> Circles, double MeanCircularity, double KeyFrequencyNormFraction,
    int? StepsToMemorize, int? StepsToGeneralize, double TestAccuracy)
{
    /// <summary>Steps between memorising and generalising (the grokking delay), or null when either did not happen.</summary>
    public int? GrokkingDelay => StepsToGeneralize - StepsToMemorize;
}
