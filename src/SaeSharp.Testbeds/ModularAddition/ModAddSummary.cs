namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>The <c>modadd.json</c> of a cached modular-addition host: the run's settings and outcome.</summary>
internal sealed record ModAddSummary(
    ModAddConfig Config, int Steps, int? StepsToMemorize, int? StepsToGeneralize,
    double TrainAccuracy, double TestAccuracy, double TrainingSeconds, double TrainingCpuSeconds);
