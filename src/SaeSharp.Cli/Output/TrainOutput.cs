using System.Text.Json.Serialization;
using SaeSharp.Evaluation;
using SaeSharp.Training;

namespace SaeSharp.Cli.Output;

/// <summary>
/// <c>saesharp train --json</c>: the run's final <see cref="TrainMetrics"/> (loss and FVU prefixed <c>train_</c>, dead and
/// dense fractions as the trainer tracked them) beside a held-out <see cref="EvalMetrics"/> (mse, fvu, l0, cosine).
/// </summary>
/// <remarks>
/// <para><see cref="Mse"/>: Per element on the raw activations, as <c>saesharp eval</c> reports it: the held-out evaluation
/// runs on scaled inputs, so its MSE is divided by the scale squared (FVU, L0 and cosine do not depend on the scale).
/// <c>metrics.jsonl</c>'s <c>mse</c> is the training batches', on the scaled inputs.</para>
/// <para><see cref="RecoveredFraction"/>: Synthetic sources only: share of the true features the decoder recovered.</para>
/// <para><see cref="ActivationScale"/>: The factor the inputs were scaled by while training (folded into the saved SAE).</para>
/// <para><see cref="ElapsedSeconds"/>: Wall time of training and the held-out evaluation, to 0.01 s.</para>
/// <para><see cref="Out"/>: The output folder, absolute; absent when the run saved nothing.</para>
/// </remarks>
internal sealed record TrainOutput(
    long Steps, long Tokens, double TrainLoss, double TrainFvu,
    double Mse, double Fvu, double L0, double DeadFraction, double DenseFraction, double CosineSimilarity,
    double? RecoveredFraction, double ActivationScale,
    [property: JsonPropertyName("elapsed_s")] double ElapsedSeconds,
    string? Out)
{
    public static TrainOutput From(TrainMetrics final, EvalMetrics heldOut, double? recoveredFraction, double activationScale, double elapsedSeconds, string? outDirectory) => new(
        final.Step, final.Tokens, final.Loss, final.Fvu,
        heldOut.Mse / (activationScale * activationScale), heldOut.Fvu, heldOut.L0, final.DeadFraction, final.DenseFraction, heldOut.CosineSimilarity,
        recoveredFraction, activationScale, Math.Round(elapsedSeconds, 2), outDirectory);
}

/// <summary><c>saesharp crosscoder train --json</c>: the run's final <see cref="TrainMetrics"/> and the per-source scales.</summary>
/// <remarks>
/// <para><see cref="SourceScales"/>: The factor each source was scaled by while training.</para>
/// <para><see cref="ElapsedSeconds"/>: Wall time of training, to 0.01 s.</para>
/// <para><see cref="Out"/>: The output folder, absolute; absent when the run saved nothing.</para>
/// </remarks>
internal sealed record CrosscoderTrainOutput(
    long Steps, long Tokens, double Loss, double Fvu, IReadOnlyList<double> SourceFvu, double L0, double DeadFraction,
    IReadOnlyList<double> SourceScales,
    [property: JsonPropertyName("elapsed_s")] double ElapsedSeconds,
    string? Out)
{
    public static CrosscoderTrainOutput From(TrainMetrics m, IReadOnlyList<double> sourceScales, double elapsedSeconds, string? outDirectory) => new(
        m.Step, m.Tokens, m.Loss, m.Fvu, m.SourceFvu, m.L0, m.DeadFraction, sourceScales, Math.Round(elapsedSeconds, 2), outDirectory);
}
