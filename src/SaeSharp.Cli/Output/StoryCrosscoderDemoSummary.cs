using System.Globalization;
using System.Text.Json.Serialization;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Demos;

namespace SaeSharp.Cli.Output;

/// <summary>
/// <c>saesharp crosscoder demo --host stories --json</c> and its <c>summary.json</c>: per crosscoder (<c>l1</c>,
/// <c>batchtopk</c>) the headline scores, the permuted-rows diagnostic, the steering sweep as {α: rate}, the pair and the paths.
/// </summary>
/// <remarks>
/// <para><see cref="Steering"/>: Share of reflection sentences in the distilled model's samples at each α (the key, invariant culture).</para>
/// <para><see cref="Rows"/>: Paired rows (harvested tokens) per store.</para>
/// <para><see cref="Seconds"/>: Wall time per stage, then <c>total</c> (to 0.1 s).</para>
/// </remarks>
internal sealed record StoryCrosscoderDemoSummary(
    StoryCrosscoderSection L1, StoryCrosscoderSection Batchtopk, IReadOnlyDictionary<string, double> Steering,
    StorySteeringSection SteeringLatent, StoryPermutedSection Permuted, StoryPairSection Pair, string Hook, long Rows,
    StoryCrosscoderPaths Paths, IReadOnlyDictionary<string, double> Seconds)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static StoryCrosscoderDemoSummary From(StoryCrosscoderDemoResult r, double totalSeconds)
    {
        var seconds = r.StageSeconds.ToDictionary(kv => kv.Key, kv => kv.Value);
        seconds["total"] = Math.Round(totalSeconds, 1);
        var byName = r.Crosscoders.ToDictionary(c => c.Name, StoryCrosscoderSection.From);
        return new(byName["l1"], byName["batchtopk"],
            r.Steering.Rates.ToDictionary(s => s.Alpha.ToString("R", Inv), s => s.Rate),
            StorySteeringSection.From(r.Steering), StoryPermutedSection.From(r.Permuted), StoryPairSection.From(r), r.Options.Hook, r.Rows,
            new StoryCrosscoderPaths(r.PairPath, r.BasePath, r.StorePaths[0], r.StorePaths[1], r.DashboardPath), seconds);
    }

    internal static string ClassName(LatentClass c) => c switch
    {
        LatentClass.Shared => "shared",
        LatentClass.AOnly => "base_only",
        LatentClass.BOnly => "distilled_only",
        _ => "dead",
    };
}

/// <summary>One crosscoder on base vs distilled.</summary>
/// <remarks>
/// <para><see cref="ExclusiveRecall"/>: Share of reflection labels whose best-matching latent is distilled-only; null without scored reflection labels.</para>
/// <para><see cref="SharedAccuracy"/>: Share of the base corpus' labels whose best-matching latent is shared; null without scored labels.</para>
/// <para><see cref="LatentScalingFlags"/>: Exclusive latents that latent scaling finds in the other model too.</para>
/// <para><see cref="Confusion"/>: Rows base label / reflection label; columns shared, base-only, distilled-only, dead.</para>
/// </remarks>
internal sealed record StoryCrosscoderSection(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? ExclusiveRecall,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? SharedAccuracy,
    int LatentScalingFlags, int Live, int Shared, int BaseOnly, int DistilledOnly,
    IReadOnlyList<IReadOnlyList<int>> Confusion, IReadOnlyList<StoryLabelRow> Labels, IReadOnlyList<double> Fvu, double L0, double TrainingSeconds)
{
    public static StoryCrosscoderSection From(StoryCrosscoderScore s) => new(
        double.IsNaN(s.ExclusiveRecall) ? null : s.ExclusiveRecall, double.IsNaN(s.SharedAccuracy) ? null : s.SharedAccuracy,
        s.LatentScalingFlags, s.Live, s.Shared, s.BaseOnly, s.DistilledOnly,
        Enumerable.Range(0, 2).Select(t => (IReadOnlyList<int>)Enumerable.Range(0, 4).Select(c => s.Confusion[t, c]).ToArray()).ToArray(),
        s.Labels.Select(StoryLabelRow.From).ToArray(), s.Fvu, s.L0, Math.Round(s.TrainingSeconds, 1));
}

/// <summary>A label and its best latent.</summary>
/// <remarks><para><see cref="RelativeNorm"/>: null when the label has no best latent.</para></remarks>
internal sealed record StoryLabelRow(string Name, bool Reflection, long Support, int BestLatent, double F1, string Class,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? RelativeNorm, bool OnlyLooksExclusive)
{
    public static StoryLabelRow From(StoryLabelMatch m) => new(m.Name, m.Reflection, m.Support, m.BestLatent, m.F1,
        StoryCrosscoderDemoSummary.ClassName(m.Class), double.IsNaN(m.RelativeNorm) ? null : m.RelativeNorm, m.OnlyLooksExclusive);
}

/// <summary>The latent the distilled model was steered with.</summary>
/// <remarks><para><see cref="Unit"/>: The activation that α = 1 adds along the latent's raw distilled decoder direction.</para></remarks>
internal sealed record StorySteeringSection(int Latent, string Label, string Class, double Unit, double UnsteeredRate)
{
    public static StorySteeringSection From(StorySteering s) => new(s.Latent, s.Label, StoryCrosscoderDemoSummary.ClassName(s.Class), s.Unit, s.UnsteeredRate);
}

/// <summary>The permuted-rows diagnostic (a BatchTopK crosscoder on independent sources).</summary>
internal sealed record StoryPermutedSection(int Live, int DistilledOnly, int DistilledOnlyWithLabelMatch, IReadOnlyList<string> MatchedLabels)
{
    public static StoryPermutedSection From(StoryPermutedDiagnostic d) => new(d.Live, d.DistilledOnly, d.DistilledOnlyWithLabelMatch, d.MatchedLabels);
}

/// <summary>The teacher and distilled model.</summary>
/// <remarks>
/// <para><see cref="GeneratorReflectionRate"/>: Share of reflection sentences in the teacher's training corpus.</para>
/// <para><see cref="TeacherReflectionRate"/>: The same in the teacher's samples, the distilled model's training data.</para>
/// <para><see cref="BuildSeconds"/>: Wall time of building the pair (of the cached run when loaded), to 0.1 s.</para>
/// </remarks>
internal sealed record StoryPairSection(int VocabularySize, int AddedTokens, double TeacherLoss, double DistilledLoss,
    double GeneratorReflectionRate, double TeacherReflectionRate, long SampleTokens, double BuildSeconds)
{
    public static StoryPairSection From(StoryCrosscoderDemoResult r)
    {
        var p = r.Pair;
        return new(p.VocabularySize, p.AddedTokens.Count, p.TeacherLoss, p.DistilledLoss, p.GeneratorReflectionRate, p.TeacherReflectionRate,
            p.SampleTokens, Math.Round(p.TotalSeconds, 1));
    }
}

/// <summary>Where the demo's files are.</summary>
internal sealed record StoryCrosscoderPaths(string Pair, string BaseHost, string StoreBase, string StoreDistilled, string Dashboard);
