namespace SaeSharp.Hosts;

/// <summary>What a <see cref="LanguageModelTrainer"/> run did.</summary>
/// <param name="Steps">Optimiser steps taken.</param>
/// <param name="Tokens">Predicted tokens (loss positions) trained on, padding excluded.</param>
/// <param name="InputTokens">Tokens fed through the model, padding included: what the time was spent on.</param>
/// <param name="FinalLoss">Mean cross-entropy of the last logged batch (nats).</param>
/// <param name="Elapsed">Wall time of the loop.</param>
/// <param name="Log">Every progress report, in order.</param>
public sealed record LanguageModelTrainResult(int Steps, long Tokens, long InputTokens, double FinalLoss, TimeSpan Elapsed, IReadOnlyList<LanguageModelProgress> Log)
{
    /// <summary>Trained tokens per second of wall time.</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? Tokens / Elapsed.TotalSeconds : 0;
}
