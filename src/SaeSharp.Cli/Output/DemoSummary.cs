using System.Text.Json.Serialization;
using SaeSharp.Analysis;
using SaeSharp.Testbeds.Demos;
using SaeSharp.Testbeds.ModularAddition;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp demo --json</c> and the demo's <c>summary.json</c>: a <see cref="SaeDemoResult"/> in brief, one section per stage.</summary>
/// <remarks>
/// <para><see cref="Seconds"/>: Wall time per stage, then <c>total</c> (to 0.1 s).</para>
/// </remarks>
internal sealed record DemoSummary(
    DemoHostSection Host, DemoHarvestSection Harvest, DemoSaeSection Sae, DemoGroundTruthSection GroundTruth, DemoSplicedSection Spliced,
    IReadOnlyDictionary<string, double> Seconds)
{
    public static DemoSummary From(SaeDemoResult r, double totalSeconds)
    {
        var seconds = r.StageSeconds.ToDictionary(kv => kv.Key, kv => kv.Value);
        seconds["total"] = Math.Round(totalSeconds, 1);
        return new(DemoHostSection.From(r.Host), DemoHarvestSection.From(r), DemoSaeSection.From(r), DemoGroundTruthSection.From(r.GroundTruth),
            DemoSplicedSection.From(r.Spliced), seconds);
    }

    /// <summary>The middle value (the upper one of an even count); NaN for none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }
}

/// <summary>The demo's host: a <see cref="ModAddResult"/> in brief.</summary>
/// <remarks>
/// <para><see cref="KeyFrequenciesExplained"/>: Share of the embedding's squared norm in the key frequencies.</para>
/// <para><see cref="TrainingSeconds"/>: Wall time of training (of the cached run when loaded), to 0.1 s.</para>
/// </remarks>
internal sealed record DemoHostSection(
    int P, long Seed, double TrainFraction,
    [property: JsonPropertyName("train_acc")] double TrainAccuracy,
    [property: JsonPropertyName("test_acc")] double TestAccuracy,
    int Steps,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? StepsToMemorize,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? StepsToGeneralize,
    IReadOnlyList<int> KeyFrequencies, double KeyFrequenciesExplained, bool FromCache, double TrainingSeconds)
{
    public static DemoHostSection From(ModAddResult host) => new(
        host.Config.P, host.Config.Seed, host.Config.TrainFraction, host.TrainAccuracy, host.TestAccuracy, host.Steps,
        host.StepsToMemorize, host.StepsToGeneralize, host.KeyFrequencies.Frequencies, host.KeyFrequencies.Explained, host.FromCache,
        Math.Round(host.TrainingTime.TotalSeconds, 1));
}

/// <summary>The demo's harvest through ONNX Runtime.</summary>
/// <remarks>
/// <para><see cref="Onnx"/>: The graph's file name (inside the output folder).</para>
/// <para><see cref="RowsAtEquals"/>: Inputs, p² (one row each at the <c>=</c> position).</para>
/// <para><see cref="OnnxVsTorchsharpMaxAbsDiff"/>: Largest difference between the harvested rows and TorchSharp's forward.</para>
/// </remarks>
internal sealed record DemoHarvestSection(string Onnx, string Hook, long StoreRows, int RowsAtEquals, double OnnxVsTorchsharpMaxAbsDiff)
{
    public static DemoHarvestSection From(SaeDemoResult r) => new(
        Path.GetFileName(r.OnnxPath), SaeDemoOptions.Hook, r.StoreRows, r.Host.Config.P * r.Host.Config.P, r.OnnxVersusTorchMaxAbsDiff);
}

/// <summary>The demo's SAE: its shape and its evaluation on all inputs.</summary>
/// <remarks>
/// <para><see cref="K"/>: Largest number of latents active on one input.</para>
/// <para><see cref="Steps"/>: Last logged training step.</para>
/// <para><see cref="Folder"/>: The SAE's folder name (inside the output folder).</para>
/// </remarks>
internal sealed record DemoSaeSection(
    string Architecture, int Latents, int K, long Steps, double Mse, double Fvu, double L0, double DeadFraction, double DenseFraction, string Folder)
{
    public static DemoSaeSection From(SaeDemoResult r) => new(
        "topk", r.GroundTruth.LiveLatents.Count == 0 ? 0 : r.LatentFiringFractions.Length, (int)Math.Round(r.L0PerInput.Max()),
        r.SaeCurve.Count == 0 ? 0 : r.SaeCurve[^1].Step,
        r.SaeEval.Mse, r.SaeEval.Fvu, r.SaeEval.L0, r.SaeEval.DeadFraction, r.SaeEval.DenseFraction, Path.GetFileName(r.SaeDirectory));
}

/// <summary>The demo's <see cref="GroundTruthSummary"/> in counts.</summary>
/// <remarks>
/// <para><see cref="MedianDominantShare"/>: Median over live latents of their dominant frequency's variance share.</para>
/// <para><see cref="BaselinePurity"/>: The purity that as many random directions reach under the same rule.</para>
/// </remarks>
internal sealed record DemoGroundTruthSection(
    double Coverage, double Purity, double BaselinePurity, IReadOnlyList<int> CoveredFrequencies, int LiveLatents, int PureLatents, double DominanceThreshold, double MedianDominantShare)
{
    public static DemoGroundTruthSection From(GroundTruthSummary truth) => new(
        truth.Coverage, truth.Purity, truth.BaselinePurity, truth.CoveredFrequencies, truth.LiveLatents.Count, truth.LiveLatents.Count(l => l.Pure),
        truth.DominanceThreshold, DemoSummary.Median(truth.LiveLatents.Select(l => l.DominantShare)));
}

/// <summary>The demo's <see cref="SplicedLoss"/>.</summary>
internal sealed record DemoSplicedSection(
    double LossClean, double LossSae, double LossZero,
    [property: JsonPropertyName("acc_clean")] double AccuracyClean,
    [property: JsonPropertyName("acc_sae")] double AccuracySae,
    [property: JsonPropertyName("acc_zero")] double AccuracyZero,
    [property: JsonPropertyName("fraction_loss_recovered")] double FractionRecovered)
{
    public static DemoSplicedSection From(SplicedLoss s) => new(s.LossClean, s.LossSae, s.LossZero, s.AccuracyClean, s.AccuracySae, s.AccuracyZero, s.FractionRecovered);
}
