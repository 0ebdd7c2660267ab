namespace SaeSharp.Training;

/// <summary>What a finished run produced.</summary>
/// <param name="Sae">The trained SAE (weights act on scaled inputs; see <paramref name="ActivationScale"/>).</param>
/// <param name="ActivationScale">Factor the inputs were multiplied by; saved checkpoints fold it in.</param>
/// <param name="FinalMetrics">Metrics of the last logging interval.</param>
/// <param name="OutputDirectory">The checkpoint folder, when training to one.</param>
public sealed record TrainResult(Sae Sae, double ActivationScale, TrainMetrics FinalMetrics, string? OutputDirectory);
