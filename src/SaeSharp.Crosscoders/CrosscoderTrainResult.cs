namespace SaeSharp.Crosscoders;

/// <summary>The outcome of a crosscoder run.</summary>
/// <param name="Crosscoder">The trained crosscoder (weights act on scaled inputs).</param>
/// <param name="SourceScales">Per-source factors the inputs were multiplied by, <c>[S]</c>.</param>
/// <param name="FinalMetrics">Metrics of the last record.</param>
/// <param name="OutputDirectory">Where the checkpoint was written, or null.</param>
public sealed record CrosscoderTrainResult(Crosscoder Crosscoder, IReadOnlyList<double> SourceScales, SaeSharp.Training.TrainMetrics FinalMetrics, string? OutputDirectory);
