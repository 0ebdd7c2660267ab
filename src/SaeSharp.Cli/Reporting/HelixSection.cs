using System.Globalization;
using SaeSharp.Cli.Output;
using ScottPlot;

namespace SaeSharp.Cli.Reporting;

/// <summary>The report's helix section: the fit's numbers, the fitted against the actual operand representation on its top principal components, and the embedding circles.</summary>
internal static class HelixSection
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The scatter of actual and fitted points on the first two principal components of the actual ones (<c>[p, 2]</c> each).</summary>
    public static byte[] FitFigure(double[,] actualP2, double[,] fittedP2, string title)
    {
        var plot = new Plot();
        int p = actualP2.GetLength(0);
        var actual = plot.Add.ScatterPoints(Column(actualP2, 0, p), Column(actualP2, 1, p));
        actual.LegendText = "actual";
        var fitted = plot.Add.ScatterPoints(Column(fittedP2, 0, p), Column(fittedP2, 1, p));
        fitted.LegendText = "helix fit";
        fitted.MarkerShape = MarkerShape.OpenCircle;
        plot.Title(title);
        plot.XLabel("principal component 1");
        plot.YLabel("principal component 2");
        plot.ShowLegend();
        return plot.GetImageBytes(Charts.Width, Charts.Height, ImageFormat.Png);
    }

    public static HtmlReport Append(HtmlReport report, HelixOutput o, byte[] figure)
    {
        report.Heading("Helix fit of the operands (Kantamneni and Tegmark 2025)");
        report.Paragraph($"The residual stream at {o.Hook} of each operand position fitted as C·B(a), B(a) = [1, a, cos(2πa/T), sin(2πa/T) per period], "
            + $"with the host's key periods T = p/f (f = {string.Join(", ", o.KeyFrequencies)}); every R² is on operands held out of the fit. "
            + "The PCA baseline reconstructs the held-out rows from their own projection on as many principal components as the helix has parameters.");
        report.Facts([
            ("R² helix (a)", o.R2Helix.ToString("F4", Inv)),
            ("R² PCA, same parameters", o.R2PcaSameParams.ToString("F4", Inv)),
            ("R² helix on random periods", o.R2RandomPeriods.ToString("F4", Inv)),
            ("R² without the linear term / linear term only", $"{o.R2HelixWithoutLinear.ToString("F4", Inv)} / {o.R2LinearOnly.ToString("F4", Inv)}"),
            ("test accuracy clean / helix patched / mean-ablated", $"{o.CleanAccuracy.ToString("P2", Inv)} / {o.PatchedAccuracy.ToString("P2", Inv)} / {o.MeanAblatedAccuracy.ToString("P2", Inv)}"),
        ]);
        report.Figure(figure, "Operand a's representation for every a (filled) and the helix fit (open), on the actual points' top two principal components.");
        report.Heading("Embedding circles per key frequency", 3);
        var hosts = o.Compared is null ? new[] { o.Geometry } : [o.Geometry, o.Compared];
        foreach (var g in hosts)
            report.Table([$"{g.Loss}: frequency", "norm share", "circularity", "axis ratio"], g.Circles.Select(c => (IReadOnlyList<string>)
                [c.Frequency.ToString(Inv), c.NormFraction.ToString("P1", Inv), c.Circularity.ToString("F3", Inv), c.AxisRatio.ToString("F3", Inv)]));
        report.Table(["host", "test accuracy", "memorised at", "generalised at", "grokking delay", "mean circularity"], hosts.Select(g => (IReadOnlyList<string>)
            [g.Loss, g.TestAccuracy.ToString("P2", Inv), g.StepsToMemorize?.ToString(Inv) ?? "-", g.StepsToGeneralize?.ToString(Inv) ?? "-",
             g.GrokkingDelay?.ToString(Inv) ?? "-", g.MeanCircularity.ToString("F3", Inv)]));
        return report;
    }

    private static double[] Column(double[,] values, int column, int rows) => Enumerable.Range(0, rows).Select(i => values[i, column]).ToArray();
}
