using SaeSharp.Evaluation;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp eval --json</c>: which SAE, then its <see cref="EvalMetrics"/> field for field.</summary>
/// <remarks>
/// <para><see cref="Sae"/>: The SAE folder, absolute.</para>
/// <para><see cref="Architecture"/>: Its architecture's SAELens name.</para>
/// <para><see cref="DIn"/>: Input width D.</para>
/// <para><see cref="DSae"/>: Dictionary size L.</para>
/// <para><see cref="RecoveredFraction"/>: Synthetic sources only: share of the true features the decoder recovered.</para>
/// </remarks>
internal sealed record EvalOutput(
    string Sae, string Architecture, int DIn, int DSae,
    long Rows, double Mse, double Fvu, double L0, double DeadFraction, double DenseFraction, double CosineSimilarity,
    double? RecoveredFraction)
{
    public static EvalOutput From(string sae, string architecture, int dIn, int dSae, EvalMetrics m, double? recoveredFraction) => new(
        sae, architecture, dIn, dSae, m.Rows, m.Mse, m.Fvu, m.L0, m.DeadFraction, m.DenseFraction, m.CosineSimilarity, recoveredFraction);
}
