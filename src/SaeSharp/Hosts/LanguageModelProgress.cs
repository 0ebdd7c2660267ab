namespace SaeSharp.Hosts;

/// <summary>One progress report of <see cref="LanguageModelTrainer"/>.</summary>
/// <param name="Step">Steps done (1-based: the report after step s says s).</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Tokens">Predicted tokens (loss positions) seen so far.</param>
/// <param name="Loss">Mean next-token cross-entropy (nats) of the latest step's batch.</param>
/// <param name="LearningRate">The rate the latest step used.</param>
public readonly record struct LanguageModelProgress(int Step, int TotalSteps, long Tokens, double Loss, double LearningRate);
