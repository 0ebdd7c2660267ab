namespace SaeSharp.Internals;

/// <summary>Linear warmup, constant, then linear decay to zero over the last part of the run.</summary>
internal static class LearningRateSchedule
{
    /// <summary>Rate for 0-based <paramref name="step"/>.</summary>
    public static double At(long step, long totalSteps, double peak, int warmupSteps, double decayStartFraction)
    {
        if (warmupSteps > 0 && step < warmupSteps)
            return peak * (step + 1) / warmupSteps;
        long decayStart = (long)Math.Floor(totalSteps * decayStartFraction);
        if (step < decayStart || totalSteps <= decayStart)
            return peak;
        return peak * (totalSteps - step) / (double)(totalSteps - decayStart);
    }

    /// <summary>Coefficient ramp from 0 to <paramref name="target"/> over <paramref name="warmupSteps"/>.</summary>
    public static double Ramp(long step, double target, int warmupSteps) =>
        warmupSteps <= 0 || step >= warmupSteps ? target : target * (step + 1) / warmupSteps;
}
