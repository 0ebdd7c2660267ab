using SaeSharp.Analysis;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp analyze probe --json</c>: which SAE, store and hook, then one entry per label.</summary>
/// <remarks>
/// <para><see cref="Sae"/>: The SAE folder, absolute.</para>
/// <para><see cref="Store"/>: The store folder, absolute.</para>
/// <para><see cref="Rows"/>: Store rows probed (from the first).</para>
/// </remarks>
internal sealed record ProbeOutput(string Sae, string Store, string Hook, long Rows, IReadOnlyList<ProbeLabelOutput> Labels)
{
    public static ProbeOutput From(string sae, string store, string hook, long rows, IReadOnlyList<LabelProbeResult> results) =>
        new(sae, store, hook, rows, [.. results.Select(ProbeLabelOutput.From)]);
}

/// <summary>
/// One label's probes: the raw-activation baseline and each k-sparse SAE probe (test AUROC, chosen C).
/// <see cref="FitsAtIterationLimit"/>: fits that stopped at L-BFGS's iteration limit and use their best iterate.
/// </summary>
internal sealed record ProbeLabelOutput(
    string Label, long Positives, int TrainRows, int TestRows, double BaselineAuroc, double BaselineC, IReadOnlyList<ProbeSparseOutput> Sparse,
    int FitsAtIterationLimit)
{
    public static ProbeLabelOutput From(LabelProbeResult r) => new(
        r.Label, r.Positives, r.TrainRows, r.TestRows, r.BaselineAuroc, r.BaselineInverseRegularization,
        [.. r.Sparse.Select(s => new ProbeSparseOutput(s.K, s.TestAuroc, s.InverseRegularization, s.Latents))], r.FitsAtIterationLimit);
}

/// <summary>A k-sparse probe: k, test AUROC, chosen C and the latents it read.</summary>
internal sealed record ProbeSparseOutput(int K, double Auroc, double C, IReadOnlyList<int> Latents);
