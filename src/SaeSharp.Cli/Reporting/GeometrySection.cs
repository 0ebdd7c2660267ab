using System.Globalization;
using SaeSharp.Analysis;
using ScottPlot;

namespace SaeSharp.Cli.Reporting;

/// <summary>The feature-geometry section of a report: the decoder spectrum with its power-law fit and the lobe affinity matrix.</summary>
internal static class GeometrySection
{
    /// <summary>log10 eigenvalue against log10 rank, the fitted line over its range, and the isotropic baseline's slope in the legend.</summary>
    public static byte[] Spectrum(GalaxyResult galaxy)
    {
        var plot = new Plot();
        var positive = galaxy.Eigenvalues.Select((v, i) => (Rank: i + 1, Value: v)).Where(p => p.Value > 0).ToArray();
        var points = plot.Add.Scatter(positive.Select(p => Math.Log10(p.Rank)).ToArray(), positive.Select(p => Math.Log10(p.Value)).ToArray());
        points.LegendText = "eigenvalues";
        points.LineWidth = 0;
        points.MarkerSize = 3;
        double[] ranks = [galaxy.FirstRank, galaxy.LastRank];
        // The fit is log λ = c − α·log r in natural logs; the plot is in log10, where the slope is the same and c scales by 1/ln 10.
        var fit = plot.Add.Scatter(ranks.Select(Math.Log10).ToArray(),
            ranks.Select(r => (galaxy.LogIntercept - galaxy.PowerLawAlpha * Math.Log(r)) / Math.Log(10)).ToArray());
        fit.LegendText = string.Create(CultureInfo.InvariantCulture,
            $"fit α = {galaxy.PowerLawAlpha:F3} [{galaxy.AlphaLow:F3}, {galaxy.AlphaHigh:F3}] (isotropic {galaxy.IsotropicAlpha:F3})");
        fit.LineWidth = 2;
        fit.MarkerSize = 0;
        plot.Title("Decoder covariance spectrum");
        plot.XLabel("log10 rank");
        plot.YLabel("log10 eigenvalue");
        plot.ShowLegend();
        return plot.GetImageBytes(Charts.Width, Charts.Height, ImageFormat.Png);
    }

    /// <summary>The phi affinity of the clustered latents, ordered by co-occurrence cluster so that lobes show as blocks.</summary>
    public static byte[] Affinity(LobeResult lobes)
    {
        int u = lobes.Latents.Count;
        int[] order = [.. Enumerable.Range(0, u).OrderBy(i => lobes.PhiClusters[i]).ThenBy(i => i)];
        var grid = new double[u, u];
        for (int i = 0; i < u; i++)
            for (int j = 0; j < u; j++) grid[i, j] = i == j ? 0 : lobes.PhiAffinity[order[i], order[j]];
        return Charts.Heatmap("Co-occurrence affinity (phi), by cluster", grid, "latent (sorted by cluster)", "latent (sorted by cluster)");
    }

    /// <summary>Appends the section: facts, the spectrum and, when given, the affinity matrix and the relation scores.</summary>
    public static HtmlReport Append(HtmlReport report, GalaxyResult galaxy, LobeResult? lobes, CrystalResult? crystals)
    {
        report.Heading("Feature geometry (Li et al., The Geometry of Concepts)");
        var facts = new List<(string, string)>
        {
            ("power-law α (ranks " + galaxy.FirstRank + "–" + galaxy.LastRank + ")",
                string.Create(CultureInfo.InvariantCulture, $"{galaxy.PowerLawAlpha:F3} [{galaxy.AlphaLow:F3}, {galaxy.AlphaHigh:F3}]; isotropic cloud {galaxy.IsotropicAlpha:F3}")),
            ("clustering entropy (nats)",
                string.Create(CultureInfo.InvariantCulture, $"{galaxy.ClusteringEntropy:F3}; isotropic cloud {galaxy.IsotropicClusteringEntropy:F3} ({galaxy.EntropyDimensions} components)")),
        };
        if (lobes is not null)
            facts.Add(("lobes: AMI co-occurrence vs geometry",
                string.Create(CultureInfo.InvariantCulture, $"phi {lobes.LobesAmi:F3} (shuffled {lobes.LobesNullAmi:F3}), Jaccard {lobes.JaccardAmi:F3} (shuffled {lobes.JaccardNullAmi:F3})")));
        if (crystals is not null)
            facts.Add(("crystals: relation silhouette",
                string.Create(CultureInfo.InvariantCulture, $"LDA {crystals.Silhouette:F3} (shuffled {crystals.SilhouetteNull:F3}), raw {crystals.RawSilhouette:F3} (shuffled {crystals.RawSilhouetteNull:F3}); parallelogram {crystals.ParallelogramQuality:F3} vs {crystals.ParallelogramNull:F3} across relations")));
        report.Facts(facts);
        report.Figure(Spectrum(galaxy), "Eigenvalues of the decoder rows' covariance on log-log axes, with the least-squares power law over the fitted rank range.");
        if (lobes is not null)
            report.Figure(Affinity(lobes), $"Phi co-occurrence affinity over blocks of tokens for the {lobes.Latents.Count} clustered latents, sorted by spectral cluster.");
        return report;
    }
}
