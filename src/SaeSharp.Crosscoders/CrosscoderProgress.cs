namespace SaeSharp.Crosscoders;

/// <summary>Reported after every crosscoder training step.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="TotalSteps">Steps in the run.</param>
/// <param name="Metrics">The metrics record when this step wrote one, otherwise null.</param>
public sealed record CrosscoderProgress(long Step, long TotalSteps, CrosscoderMetrics? Metrics);
