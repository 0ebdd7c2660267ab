using ScottPlot;

namespace SaeSharp.Cli.Reporting;

/// <summary>The report's plots, rendered to PNG bytes with ScottPlot.</summary>
internal static class Charts
{
    public const int Width = 520, Height = 360;

    /// <summary>Lines over a shared x axis; <paramref name="logY"/> plots log10 of positive values.</summary>
    public static byte[] Lines(string title, string xLabel, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> series, bool logY = false)
    {
        var plot = new Plot();
        foreach (var (name, x, y) in series)
        {
            var ys = logY ? y.Select(v => Math.Log10(Math.Max(v, 1e-12))).ToArray() : y;
            var line = plot.Add.Scatter(x, ys);
            line.LegendText = name;
            line.MarkerSize = 0;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(logY ? $"log10 {yLabel}" : yLabel);
        plot.ShowLegend();
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>Bars at integer positions; bars whose index is in <paramref name="highlighted"/> are drawn in a second colour.</summary>
    public static byte[] Bars(string title, string xLabel, string yLabel, double[] values, ISet<int>? highlighted = null, int firstIndex = 0)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < values.Length; i++)
        {
            bool marked = highlighted?.Contains(i + firstIndex) == true;
            bars.Add(new Bar { Position = i + firstIndex, Value = values[i], FillColor = marked ? Colors.OrangeRed : Colors.SteelBlue, LineWidth = 0 });
        }
        plot.Add.Bars(bars);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Axes.Margins(bottom: 0);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>A histogram of values in <paramref name="bins"/> equal bins between their min and max.</summary>
    public static byte[] Histogram(string title, string xLabel, double[] values, int bins = 30)
    {
        var plot = new Plot();
        if (values.Length > 0)
        {
            double min = values.Min(), max = values.Max();
            if (max <= min) max = min + 1;
            var histogram = ScottPlot.Statistics.Histogram.WithBinCount(bins, min, max);
            histogram.AddRange(values);
            var bars = plot.Add.Bars(histogram.Bins, histogram.Counts);
            foreach (var bar in bars.Bars) bar.Size = histogram.FirstBinSize * 0.9;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("count");
        plot.Axes.Margins(bottom: 0);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>A heatmap of a grid (row i at the top), e.g. a latent's activation over (a, b).</summary>
    public static byte[] Heatmap(string title, double[,] grid, string xLabel, string yLabel, int size = 300)
    {
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(grid);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot.GetImageBytes(size + 80, size, ImageFormat.Png);
    }
}
