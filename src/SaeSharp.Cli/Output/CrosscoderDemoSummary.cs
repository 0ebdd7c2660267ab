using System.Text.Json.Serialization;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Demos;

namespace SaeSharp.Cli.Output;

/// <summary>
/// <c>saesharp crosscoder demo --json</c> and its <c>summary.json</c>: the hosts (the library's <see cref="DemoModel"/>s as they
/// are), then one section per scored crosscoder under its name. <see cref="Out"/> is on stdout only.
/// </summary>
/// <remarks>
/// <para><see cref="StudentAgreement"/>: Share of inputs where the student answers as its teacher; absent without a student.</para>
/// <para><see cref="ElapsedSeconds"/>: Wall time of the whole demo, to 0.1 s.</para>
/// <para><see cref="Out"/>: The output folder, absolute; absent without one.</para>
/// </remarks>
internal sealed record CrosscoderDemoSummary(
    IReadOnlyList<DemoModel> Models, string Hook,
    CrosscoderScoreSection? L1, CrosscoderScoreSection? Batchtopk,
    [property: JsonPropertyName("distilled_l1")] CrosscoderScoreSection? DistilledL1,
    [property: JsonPropertyName("distilled_batchtopk")] CrosscoderScoreSection? DistilledBatchtopk,
    double? StudentAgreement, double DominanceThreshold,
    [property: JsonPropertyName("elapsed_s")] double ElapsedSeconds,
    string? Out)
{
    public static CrosscoderDemoSummary From(CrosscoderDemoResult demo)
    {
        var sections = demo.Crosscoders.ToDictionary(s => s.Name, CrosscoderScoreSection.From);
        foreach (var name in sections.Keys)
            if (name is not ("l1" or "batchtopk" or "distilled_l1" or "distilled_batchtopk"))
                throw new InvalidOperationException($"crosscoder demo result \"{name}\" has no place in the summary; add it to {nameof(CrosscoderDemoSummary)}");
        return new(demo.Models, demo.Options.Hook,
            sections.GetValueOrDefault("l1"), sections.GetValueOrDefault("batchtopk"),
            sections.GetValueOrDefault("distilled_l1"), sections.GetValueOrDefault("distilled_batchtopk"),
            double.IsNaN(demo.StudentAgreement) ? null : demo.StudentAgreement, demo.Options.DominanceThreshold,
            Math.Round(demo.TotalSeconds, 1), Out: null);
    }
}

/// <summary>One <see cref="DemoScore"/> in brief.</summary>
/// <remarks>
/// <para><see cref="Models"/>: Source A's and source B's model names.</para>
/// <para><see cref="Sparsity"/>: The sparsity rule's name (<c>L1</c>, <c>BatchTopK</c>).</para>
/// <para><see cref="Accuracy"/>: Share of scored latents classified as the truth; null when none were scored.</para>
/// <para><see cref="ScoredLatents"/>: Frequency-dominated latents whose dominant frequency is key to a model at the hook.</para>
/// <para><see cref="AccuracyEmbeddingTruth"/>: The same score against the embeddings' key frequencies; null when none were scored.</para>
/// <para><see cref="OnlyLookExclusive"/>: Latents the decoder norms call exclusive that fire alike in both models.</para>
/// <para><see cref="RelativeNormHistogram"/>: Live latents per relative-norm bin over [0, 1].</para>
/// <para><see cref="Fvu"/>: Final training FVU per source.</para>
/// <para><see cref="TrainingSeconds"/>: Wall time of training, to 0.1 s.</para>
/// </remarks>
internal sealed record CrosscoderScoreSection(
    IReadOnlyList<string> Models, string Sparsity,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Accuracy,
    ConfusionSection Confusion, int ScoredLatents,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? AccuracyEmbeddingTruth,
    int ScoredLatentsEmbeddingTruth, int DominatedLatents, int LiveLatents,
    int Shared, int AOnly, int BOnly, int OnlyLookExclusive, IReadOnlyList<int> RelativeNormHistogram,
    IReadOnlyList<double> Fvu, double L0, double TrainingSeconds)
{
    public static CrosscoderScoreSection From(DemoScore score) => new(
        [score.ModelA, score.ModelB], score.Sparsity.ToString(),
        double.IsNaN(score.Accuracy) ? null : score.Accuracy, ConfusionSection.From(score.Confusion), score.Scored,
        double.IsNaN(score.EmbeddingTruthAccuracy) ? null : score.EmbeddingTruthAccuracy, score.EmbeddingTruthScored, score.Dominated, score.Live,
        score.Diff.Count(LatentClass.Shared), score.Diff.Count(LatentClass.AOnly), score.Diff.Count(LatentClass.BOnly),
        score.Diff.Latents.Count(l => l.OnlyLooksExclusive), score.Diff.HistogramCounts, score.Fvu, score.L0, Math.Round(score.TrainingSeconds, 1));
}

/// <summary>Counts of scored latents by true class (rows) and predicted class (columns), both in <see cref="Order"/>.</summary>
internal sealed record ConfusionSection(IReadOnlyList<string> Order, IReadOnlyList<IReadOnlyList<int>> TruthByPredicted)
{
    /// <summary>Rows and columns: shared, A only, B only (the library's order).</summary>
    public static ConfusionSection From(int[,] confusion) => new(
        ["shared", "a_only", "b_only"],
        Enumerable.Range(0, 3).Select(t => (IReadOnlyList<int>)Enumerable.Range(0, 3).Select(c => confusion[t, c]).ToArray()).ToArray());
}
