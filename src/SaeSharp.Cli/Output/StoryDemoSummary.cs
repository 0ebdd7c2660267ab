using System.Text.Json.Serialization;
using SaeSharp.Analysis;
using SaeSharp.Testbeds.Demos;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp demo --host stories --json</c> and that demo's <c>summary.json</c>: the headline numbers first, then one section per stage.</summary>
/// <remarks>
/// <para><see cref="ValLoss"/>: The host's mean next-token cross-entropy (nats) on its held-out stories (TorchSharp).</para>
/// <para><see cref="ConsistencyAccuracy"/>: The host's top-1 accuracy on prompts whose next token the story fixes.</para>
/// <para><see cref="LabelsTotal"/>: Generator labels with enough support on the harvested tokens to be scored (LabelScoringOptions.MinSupport).</para>
/// <para><see cref="LabelsCovered"/>: Scored labels whose best single latent detects them with F1 ≥ 0.8.</para>
/// <para><see cref="Coverage"/>: labels_covered / labels_total.</para>
/// <para><see cref="LossRecovered"/>: (L_zero − L_sae) / (L_zero − L_clean) over the host's held-out stories, the SAE spliced in at every position.</para>
/// <para><see cref="Seconds"/>: Wall time per stage, then <c>total</c> (to 0.1 s).</para>
/// </remarks>
internal sealed record StoryDemoSummary(
    double ValLoss, double ConsistencyAccuracy, StoryDemoSaeSection Sae, int LabelsTotal, int LabelsCovered, double Coverage, double LossRecovered,
    string HostPath, string StorePath, string SaePath, string DashboardPath,
    StoryDemoHostSection Host, StoryDemoHarvestSection Harvest, StoryDemoSplicedSection Spliced, IReadOnlyList<StoryDemoLabelRow> Labels,
    IReadOnlyList<int> DashboardLatents, IReadOnlyDictionary<string, double> Seconds)
{
    public static StoryDemoSummary From(StoryDemoResult r, double totalSeconds)
    {
        var seconds = r.StageSeconds.ToDictionary(kv => kv.Key, kv => kv.Value);
        seconds["total"] = Math.Round(totalSeconds, 1);
        var s = r.Host.Summary;
        return new(s.ValLoss, s.ConsistencyAccuracy, StoryDemoSaeSection.From(r), r.Labels.LabelsScored, r.Labels.LabelsCovered, r.Labels.Coverage,
            r.Spliced.FractionRecovered, r.Host.HostPath, r.StorePath, r.SaeDirectory, r.DashboardPath,
            StoryDemoHostSection.From(r), StoryDemoHarvestSection.From(r), StoryDemoSplicedSection.From(r),
            r.Labels.Labels.Select(l => StoryDemoLabelRow.From(l, r.Labels.Options)).ToArray(), r.DashboardLatents, seconds);
    }
}

/// <summary>The story demo's host in brief.</summary>
/// <remarks>
/// <para><see cref="OnnxValLoss"/>: val_loss measured through the ONNX export in ONNX Runtime.</para>
/// <para><see cref="TrainSeconds"/>: Wall time of the host's whole recipe (of the cached run when loaded), to 0.1 s.</para>
/// </remarks>
internal sealed record StoryDemoHostSection(
    ulong Seed, double OnnxValLoss, IReadOnlyDictionary<string, double> ConsistencyByKind, int Layers, int ModelDim, int VocabSize, long Parameters,
    bool FromCache, double TrainSeconds, string OnnxPath)
{
    public static StoryDemoHostSection From(StoryDemoResult r)
    {
        var s = r.Host.Summary;
        return new(s.Options.Seed, s.OnnxValLoss, s.ConsistencyByKind, s.Options.Layers, s.Options.ModelDim, s.VocabularySize, s.Parameters,
            r.Host.FromCache, Math.Round(s.TotalSeconds, 1), r.Host.OnnxPath);
    }
}

/// <summary>The story demo's harvest through ONNX Runtime.</summary>
/// <remarks>
/// <para><see cref="StorySeed"/>: Generator seed of the harvested stories (not the host's).</para>
/// <para><see cref="Rows"/>: Rows in the store, one per token.</para>
/// </remarks>
internal sealed record StoryDemoHarvestSection(string Hook, ulong StorySeed, int Stories, long Rows, double TokensPerSecond, string TokenIdsPath)
{
    public static StoryDemoHarvestSection From(StoryDemoResult r) => new(
        r.Options.Hook, r.Options.StorySeed, r.Options.HarvestStories, r.StoreRows, Math.Round(r.HarvestTokensPerSecond, 1), r.TokenIdsPath);
}

/// <summary>The story demo's SAE: its shape and its evaluation on every row of the store.</summary>
/// <remarks>
/// <para><see cref="Steps"/>: Last logged training step.</para>
/// </remarks>
internal sealed record StoryDemoSaeSection(
    string Architecture, int Latents, int K, long Steps, double Mse, double Fvu, double L0, double DeadFraction, double DenseFraction)
{
    public static StoryDemoSaeSection From(StoryDemoResult r) => new(
        "topk", r.Labels.Latents.Count, r.Options.K, r.SaeCurve.Count == 0 ? 0 : r.SaeCurve[^1].Step,
        r.SaeEval.Mse, r.SaeEval.Fvu, r.SaeEval.L0, r.SaeEval.DeadFraction, r.SaeEval.DenseFraction);
}

/// <summary>The story demo's spliced next-token losses over the host's held-out stories.</summary>
/// <remarks>
/// <para><see cref="Tokens"/>: Predicted positions behind each loss.</para>
/// </remarks>
internal sealed record StoryDemoSplicedSection(
    double LossClean, double LossSae, double LossZero,
    [property: JsonPropertyName("acc_clean")] double AccuracyClean,
    [property: JsonPropertyName("acc_sae")] double AccuracySae,
    [property: JsonPropertyName("acc_zero")] double AccuracyZero,
    long Tokens)
{
    public static StoryDemoSplicedSection From(StoryDemoResult r) => new(
        r.Spliced.LossClean, r.Spliced.LossSae, r.Spliced.LossZero, r.Spliced.AccuracyClean, r.Spliced.AccuracySae, r.Spliced.AccuracyZero, r.SplicedTokens);
}

/// <summary>One generator label and its best single-latent detector.</summary>
/// <remarks>
/// <para><see cref="Scored"/>: Whether the label has enough support to count towards coverage.</para>
/// <para><see cref="BestLatent"/>: −1 when no latent fires on a row with the label.</para>
/// <para><see cref="Auroc"/>: NaN when the label has no support or no best latent.</para>
/// </remarks>
internal sealed record StoryDemoLabelRow(string Name, long Support, bool Scored, int BestLatent, double F1, double Precision, double Recall, double Auroc)
{
    public static StoryDemoLabelRow From(LabelScore l, LabelScoringOptions options) => new(
        l.Name, l.Support, l.Support >= options.MinSupport, l.BestLatent, l.F1, l.Precision, l.Recall, l.Auroc);
}
