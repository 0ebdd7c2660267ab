using System.Globalization;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Demos;

namespace SaeSharp.Cli.Reporting;

/// <summary>The report's model-diff section: hosts and their key frequencies, then per crosscoder the score, the relative-norm histogram and the per-frequency table.</summary>
internal static class ModelDiffSection
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static HtmlReport Append(HtmlReport report, CrosscoderDemoResult result)
    {
        report.Heading("Model diffing with crosscoders");
        report.Paragraph($"Crosscoders read the residual stream at {result.Options.Hook} at the '=' position of every (a, b) input from two "
            + "modular-addition hosts at once. A latent's relative decoder norm r = |d_B| / (|d_A| + |d_B|) says where it lives: near 0 in A only, "
            + "near 0.5 in both, near 1 in B only. Ground truth: a latent whose encoder pre-activation over the (a, b) grid is dominated by one frequency "
            + $"(share ≥ {result.Options.DominanceThreshold.ToString(Inv)}) should be shared when that frequency is key to both hosts at the hook and exclusive otherwise. "
            + "A host's key frequencies at the hook are those that hold its activations' variance there (same cut rule as for the embedding).");
        report.Table(["model", "how", "key frequencies (embedding)", $"key frequencies at {result.Options.Hook}", "accuracy", "cached"], result.Models.Select(m => (IReadOnlyList<string>)
            [m.Name, m.Description, string.Join(", ", m.KeyFrequencies), string.Join(", ", m.HookKeyFrequencies), m.Accuracy.ToString("P2", Inv), m.FromCache ? "yes" : "no"]));
        if (!double.IsNaN(result.StudentAgreement))
            report.Paragraph($"The student gives the teacher's answer on {result.StudentAgreement.ToString("P2", Inv)} of all inputs.");
        foreach (var score in result.Crosscoders)
            AppendScore(report, score, score.Diff.Options);
        report.Paragraph($"Total time {result.TotalSeconds.ToString("F0", Inv)} s.");
        return report;
    }

    private static void AppendScore(HtmlReport report, DemoScore score, ModelDiffOptions diffOptions)
    {
        report.Heading($"{score.Name}: {score.ModelA} vs {score.ModelB} ({score.Sparsity})", 3);
        report.Facts([
            ("accuracy on frequency-dominated latents", double.IsNaN(score.Accuracy) ? "n/a" : $"{score.Accuracy.ToString("P1", Inv)} of {score.Scored}"),
            ("the same against the embeddings' key frequencies", double.IsNaN(score.EmbeddingTruthAccuracy) ? "n/a" : $"{score.EmbeddingTruthAccuracy.ToString("P1", Inv)} of {score.EmbeddingTruthScored}"),
            ("live latents", score.Live.ToString(Inv)),
            ("frequency-dominated latents", score.Dominated.ToString(Inv)),
            ("shared / A-only / B-only (all live)", $"{score.Diff.Count(LatentClass.Shared)} / {score.Diff.Count(LatentClass.AOnly)} / {score.Diff.Count(LatentClass.BOnly)}"),
            ("flagged by latent scaling (only look exclusive)", score.Diff.Latents.Count(l => l.OnlyLooksExclusive).ToString(Inv)),
            ("FVU per source", string.Join(" / ", score.Fvu.Select(f => f.ToString("F4", Inv)))),
            ("L0", score.L0.ToString("F1", Inv)),
            ("training time", $"{score.TrainingSeconds.ToString("F0", Inv)} s"),
        ]);
        string[] names = ["shared", $"{score.ModelA}-only", $"{score.ModelB}-only"];
        report.Table(["truth \\ predicted", .. names], Enumerable.Range(0, 3).Select(t => (IReadOnlyList<string>)
            [names[t], .. Enumerable.Range(0, 3).Select(c => score.Confusion[t, c].ToString(Inv))]));
        var relative = score.Diff.Latents.Where(l => l.Class != LatentClass.Dead).Select(l => l.RelativeNorm).ToArray();
        report.Figure(Charts.Histogram($"relative decoder norm ({score.Name})", $"|d_{score.ModelB}| / (|d_{score.ModelA}| + |d_{score.ModelB}|)", relative, bins: diffOptions.HistogramBins),
            $"Relative decoder norm of the {relative.Length} live latents; A-only at or below {diffOptions.ExclusiveLow.ToString(Inv)}, B-only at or above {diffOptions.ExclusiveHigh.ToString(Inv)}.");
        report.Table(["frequency", "key to", "latents", "shared", $"{score.ModelA}-only", $"{score.ModelB}-only", "mean r"], score.Frequencies.Select(f => (IReadOnlyList<string>)
        [
            f.Frequency.ToString(Inv),
            f.Truth switch { LatentClass.Shared => "both", LatentClass.AOnly => score.ModelA, LatentClass.BOnly => score.ModelB, _ => "embedding only" },
            f.Latents.ToString(Inv), f.Shared.ToString(Inv), f.AOnly.ToString(Inv), f.BOnly.ToString(Inv),
            double.IsNaN(f.MeanRelativeNorm) ? "" : f.MeanRelativeNorm.ToString("F3", Inv),
        ]));
        if (score.Steering.Count > 0)
            report.Table(["steered with", "class", "model", "α", "mean KL (nats)", "answers changed", "top prob before → after"], score.Steering.Select(s => (IReadOnlyList<string>)
            [
                $"latent {s.Latent}", s.Class.ToString(), s.Model, s.Result.Scale.ToString("F2", Inv), s.Result.MeanKl.ToString("F3", Inv),
                s.Result.ArgmaxChangedFraction.ToString("P1", Inv),
                $"{s.Result.MeanBaseTopProbability.ToString("F3", Inv)} → {s.Result.MeanSteeredTopProbability.ToString("F3", Inv)}",
            ]));
    }
}
