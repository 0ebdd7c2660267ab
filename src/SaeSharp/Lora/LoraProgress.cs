namespace SaeSharp.Lora;

/// <summary>One report of <see cref="LoraTrainer"/> (also one line of <c>metrics.jsonl</c>).</summary>
/// <param name="Step">Steps finished.</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Kl">Mean KL(p_clean ‖ p_spliced) per token of the last step's batch, nats.</param>
/// <param name="GradNorm">Global gradient norm of the last step before clipping.</param>
/// <param name="ValidationKl">Mean KL per token on the validation split, when measured at this step; null otherwise.</param>
/// <param name="Seconds">Wall time since this run (or resume) started.</param>
public sealed record LoraProgress(int Step, int TotalSteps, double Kl, double GradNorm, double? ValidationKl, double Seconds);
