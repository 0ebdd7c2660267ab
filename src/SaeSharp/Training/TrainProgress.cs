namespace SaeSharp.Training;

/// <summary>Reported after every step; <see cref="Metrics"/> is set on logging steps.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Metrics">The newest metrics record, on steps that log.</param>
public sealed record TrainProgress(long Step, long TotalSteps, TrainMetrics? Metrics);
