using SaeSharp.Analysis;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp analyze dark-matter --json</c>: which SAE and rows, then the <see cref="DarkMatterResult"/> field for field.</summary>
/// <remarks>
/// <para><see cref="Sae"/>: The SAE folder, absolute.</para>
/// <para><see cref="Source"/>: <c>synthetic</c> or the store folder and hook (<c>PATH#HOOK</c>).</para>
/// <para><see cref="Rows"/>: Rows read (fitting plus scoring).</para>
/// </remarks>
internal sealed record DarkMatterOutput(
    string Sae, string Source, long Rows, long FitRows, long ScoreRows,
    double LinearErrorR2, double NormR2, double NonlinearFraction, double Fvu, double FvuWithLinear)
{
    public static DarkMatterOutput From(string sae, string source, DarkMatterResult r) => new(
        sae, source, r.FitRows + r.ScoreRows, r.FitRows, r.ScoreRows, r.LinearErrorR2, r.NormR2, r.NonlinearFraction, r.Fvu, r.FvuWithLinear);
}
