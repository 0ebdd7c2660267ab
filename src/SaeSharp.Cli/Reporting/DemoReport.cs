using SaeSharp.IO;
using System.Globalization;
using SaeSharp.Cli.Output;
using SaeSharp.Testbeds.Demos;

namespace SaeSharp.Cli.Reporting;

/// <summary>Writes the demo's <c>report.html</c> (figures embedded) and <c>summary.json</c>.</summary>
internal static class DemoReport
{
    public static void Write(SaeDemoResult r, DemoSummary summary, string directory)
    {
        var host = r.Host;
        int p = host.Config.P;
        var keys = host.KeyFrequencies.Frequencies.ToHashSet();
        var report = new HtmlReport($"SaeSharp demo: a TopK SAE on the modular-addition host (p = {p})");

        report.Paragraph("The host is a one-layer transformer trained on (a + b) mod p. It computes with a handful of key frequencies " +
            "(cos and sin of 2πk·x/p), so we know what an SAE on its residual stream should find: latents whose activation over the " +
            "(a, b) grid lives in those frequencies.");
        report.Facts([
            ("host test accuracy", Pct(host.TestAccuracy)),
            ("key frequencies", string.Join(", ", host.KeyFrequencies.Frequencies)),
            ("SAE FVU / L0", $"{F(r.SaeEval.Fvu)} / {r.SaeEval.L0:F2}"),
            ("coverage of key frequencies", Pct(r.GroundTruth.Coverage)),
            ("purity of live latents", $"{Pct(r.GroundTruth.Purity)} (random directions: {Pct(r.GroundTruth.BaselinePurity)})"),
            ("loss clean / SAE / zero", $"{F(r.Spliced.LossClean)} / {F(r.Spliced.LossSae)} / {F(r.Spliced.LossZero)}"),
            ("fraction of loss recovered", F(r.Spliced.FractionRecovered)),
        ]);

        report.Heading("1. The host");
        var log = host.Log;
        double[] steps = log.Select(e => (double)e.Step).ToArray();
        report.Figure(Charts.Lines("Host training: grokking", "step", "loss",
            [("train loss", steps, log.Select(e => e.TrainLoss).ToArray()), ("test loss", steps, log.Select(e => e.TestLoss).ToArray())], logY: true),
            $"Train and test loss (log scale). Memorised by step {host.StepsToMemorize?.ToString() ?? "?"}, generalised (test accuracy > 99%) by step {host.StepsToGeneralize?.ToString() ?? "?"}.");
        report.Figure(Charts.Bars("Embedding norm by frequency", "frequency k", "share of squared norm",
            host.KeyFrequencies.NormFractions.ToArray(), keys, firstIndex: 1),
            $"The number-token embedding in the Fourier basis; key frequencies (red) explain {Pct(host.KeyFrequencies.Explained)} of its squared norm.");

        report.Heading("2. Harvest through ONNX Runtime");
        report.Paragraph($"Our exporter wrote {Path.GetFileName(r.OnnxPath)}; the harvester found {SaeDemoOptions.Hook} by graph structure and stored " +
            $"{r.StoreRows:N0} rows (3 positions × {p * p:N0} inputs). The rows at the = position differ from TorchSharp's forward by at most {r.OnnxVersusTorchMaxAbsDiff:E1}.");

        report.Heading("3. The SAE");
        double[] saeSteps = r.SaeCurve.Select(m => (double)m.Step).ToArray();
        report.Figure(Charts.Lines("SAE training", "step", "value",
            [("FVU", saeSteps, r.SaeCurve.Select(m => m.Fvu).ToArray()), ("dead fraction", saeSteps, r.SaeCurve.Select(m => m.DeadFraction).ToArray())]),
            $"Fraction of variance unexplained and dead-latent fraction while training (final FVU {F(r.SaeEval.Fvu)} on all inputs).");
        report.Figure(Charts.Histogram("L0 per input", "active latents", r.L0PerInput, bins: 20), $"Active latents per input (mean {r.SaeEval.L0:F2}).");
        var live = r.LatentFiringFractions.Where(f => f > 0).Select(Math.Log10).ToArray();
        report.Figure(Charts.Histogram("Feature density", "log10 firing fraction", live, bins: 30),
            $"Firing fraction of the {live.Length} live latents of {r.LatentFiringFractions.Length}.");

        report.Heading("4. Ground truth: latents in the Fourier basis");
        report.Paragraph($"For each live latent, its activation over the {p}×{p} grid of (a, b) is decomposed into 2-D Fourier components; " +
            $"its dominant frequency is the one with the largest share of the variance (the rest sits mostly in harmonics, since a sparse latent is a " +
            $"clipped wave). A latent is pure when its dominant frequency is a key frequency holding at least {Pct(r.GroundTruth.DominanceThreshold)} of its variance; " +
            $"{Pct(r.GroundTruth.Purity)} of the live latents are, against {Pct(r.GroundTruth.BaselinePurity)} of as many random directions through the same activations " +
            $"(the residual stream itself lives mostly in the key frequencies). Covered key frequencies: {string.Join(", ", r.GroundTruth.CoveredFrequencies)}; " +
            $"median share of the dominant frequency: {Pct(DemoSummary.Median(r.GroundTruth.LiveLatents.Select(l => l.DominantShare)))}.");
        foreach (var (latent, grid) in r.TopLatentGrids)
        {
            var info = r.GroundTruth.LiveLatents.First(l => l.Latent == latent);
            report.Figure(Charts.Heatmap($"latent {latent}: k = {info.DominantFrequency} ({Pct(info.DominantShare)})", grid, "b", "a"),
                $"Latent {latent} over (a, b); fires on {Pct(info.FiringFraction)} of inputs; dominant frequency {info.DominantFrequency}{(info.IsKeyFrequency ? " (key)" : "")}.");
        }
        // Every live latent, pure or not: a table of the best ones alone would flatter the SAE.
        report.Table(["latent", "firing", "dominant k", "share", "key", "pure"],
            r.GroundTruth.LiveLatents.Select(l => (IReadOnlyList<string>)[
                l.Latent.ToString(CultureInfo.InvariantCulture), Pct(l.FiringFraction), l.DominantFrequency.ToString(CultureInfo.InvariantCulture),
                Pct(l.DominantShare), l.IsKeyFrequency ? "yes" : "no", l.Pure ? "yes" : "no"]));

        report.Heading("5. Splicing the SAE into the host");
        report.Table(["residual stream at =", "loss", "accuracy"], [
            ["clean", F(r.Spliced.LossClean), Pct(r.Spliced.AccuracyClean)],
            ["SAE reconstruction", F(r.Spliced.LossSae), Pct(r.Spliced.AccuracySae)],
            ["zero-ablated", F(r.Spliced.LossZero), Pct(r.Spliced.AccuracyZero)],
        ]);

        report.Heading("6. Timing");
        report.Facts(r.StageSeconds.Select(kv => (kv.Key, $"{kv.Value:F1} s")));

        AtomicFile.WriteAllText(Path.Combine(directory, "report.html"), report.Render());
        CliJson.WriteFile(Path.Combine(directory, "summary.json"), summary, CliJsonContext.Default.DemoSummary);
    }

    private static string F(double value) => value.ToString("G4", CultureInfo.InvariantCulture);

    private static string Pct(double value) => value.ToString("P1", CultureInfo.InvariantCulture);
}
