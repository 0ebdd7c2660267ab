namespace SaeSharp.Crosscoders.Analysis;

/// <summary>How adding a direction to the residual stream changed a host's output distribution at the measured positions.</summary>
/// <param name="Scale">The multiple α of the direction that was added.</param>
/// <param name="DirectionNorm">‖v‖ of the added direction (raw activation units).</param>
/// <param name="MeanKl">Mean KL(p_base ‖ p_steered) in nats.</param>
/// <param name="ArgmaxChangedFraction">Share of positions whose most likely token changed.</param>
/// <param name="MeanBaseTopProbability">Mean probability of the base model's top token, before steering.</param>
/// <param name="MeanSteeredTopProbability">Mean probability of that same token after steering.</param>
/// <param name="MostPromoted">Output tokens whose mean log-probability rose most, with the rise.</param>
public sealed record SteeringResult(
    double Scale, double DirectionNorm, double MeanKl, double ArgmaxChangedFraction,
    double MeanBaseTopProbability, double MeanSteeredTopProbability, IReadOnlyList<(int Token, double LogProbChange)> MostPromoted);
