namespace SaeSharp.Lora;

/// <summary>What a <see cref="LoraTrainer"/> run did.</summary>
/// <param name="Steps">Steps finished (all of them, counting those before a resume).</param>
/// <param name="ResumedFromStep">The checkpoint's step the run resumed from; 0 for a fresh run.</param>
/// <param name="ValidationKlBefore">Mean KL per token on the validation split with fresh adapters (NaN without a split or when resumed).</param>
/// <param name="ValidationKlAfter">The same after the last step (NaN without a split).</param>
/// <param name="Tokens">Tokens trained on in this run.</param>
/// <param name="Seconds">Wall time of this run.</param>
/// <param name="Log">Every report, in order.</param>
public sealed record LoraTrainResult(int Steps, int ResumedFromStep, double ValidationKlBefore, double ValidationKlAfter, long Tokens, double Seconds,
    IReadOnlyList<LoraProgress> Log);
