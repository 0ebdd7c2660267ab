using SaeSharp.Hosts;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>A trained (or cached) modular-addition host and what its training measured. Disposing it disposes the model.</summary>
/// <param name="Model">The trained host.</param>
/// <param name="Config">The task and run settings.</param>
/// <param name="Log">One entry per evaluation, in step order (with progress measures at snapshot steps).</param>
/// <param name="Steps">Optimiser steps taken.</param>
/// <param name="StepsToMemorize">First logged step with train accuracy above 99%, or null.</param>
/// <param name="StepsToGeneralize">First logged step with test accuracy above 99%, or null.</param>
/// <param name="TrainAccuracy">Final train accuracy (all training pairs, final weights).</param>
/// <param name="TestAccuracy">Final test accuracy (all held-out pairs, final weights).</param>
/// <param name="KeyFrequencies">The final model's key frequencies from its embedding.</param>
/// <param name="TrainingTime">Wall time of the training run (that of the original run when loaded from cache).</param>
/// <param name="TrainingCpuTime">Processor time of the whole process during training (all threads), a load-independent cost measure.</param>
/// <param name="FromCache">Whether the model was loaded from a cache folder instead of trained now.</param>
public sealed record ModAddResult(
    HostTransformer Model, ModAddConfig Config, IReadOnlyList<ModAddLogEntry> Log, int Steps,
    int? StepsToMemorize, int? StepsToGeneralize, double TrainAccuracy, double TestAccuracy,
    FourierKeyFrequencies KeyFrequencies, TimeSpan TrainingTime, TimeSpan TrainingCpuTime, bool FromCache) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();
}
