namespace SaeSharp.Harvest.Store;

/// <summary>What a full pass over one hook's rows found (<see cref="ActivationStore.Statistics"/>).</summary>
/// <param name="MeanNorm">Mean L2 norm of the rows whose values are all finite (0 when none are).</param>
/// <param name="NonFiniteValues">Values that are NaN or infinite (a harvest with <c>AllowNonFinite</c> stores them).</param>
/// <param name="NonFiniteRows">Rows holding at least one such value.</param>
public sealed record HookStatistics(double MeanNorm, long NonFiniteValues, long NonFiniteRows);
