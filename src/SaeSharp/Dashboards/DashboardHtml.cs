using System.Globalization;
using System.Text;
using SaeSharp.Analysis;

namespace SaeSharp.Dashboards;

/// <summary>Renders the panels as one self-contained HTML page: inline CSS, inline SVG figures, no external resources.</summary>
internal static class DashboardHtml
{
    private const int HistogramWidth = 360, HistogramHeight = 120, HistogramMargin = 24;

    public static string Render(LatentDashboardInput input, IReadOnlyList<LatentPanel> panels)
    {
        var options = input.Options;
        var labels = input.Labels;
        long rows = input.Latents.RowCount;
        var html = new StringBuilder(64 * 1024);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(HtmlText.Escape(options.Title)).Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1 id=\"top\">").Append(HtmlText.Escape(options.Title)).Append("</h1>\n<p class=\"summary\">")
            .Append(Invariant($"{rows:N0} rows, {input.Latents.LatentCount:N0} latents; {panels.Count} shown, "))
            .Append(options.Latents is not null ? "as listed" : options.Order == LatentOrder.Density ? "by density" : "by best label F1");
        if (labels is not null)
            html.Append(Invariant($"; label coverage {labels.Coverage:0.###} ({labels.LabelsCovered} of {labels.LabelsScored} labels with support ≥ {labels.Options.MinSupport} have a latent at F1 ≥ {labels.Options.CoverageF1:0.##})"));
        html.Append(".</p>\n");

        html.Append("<p>Click a column heading to sort.</p>\n<table class=\"index\">\n<thead><tr><th>latent</th><th>density</th><th>max</th>");
        if (labels is not null) html.Append("<th>best label</th><th>F1</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (var panel in panels)
        {
            html.Append(Invariant($"<tr><td><a href=\"#latent-{panel.Latent}\">{panel.Latent}</a></td><td>{Density(panel.ActiveRows, rows)}</td><td>{Number(panel.MaxActivation)}</td>"));
            if (labels is not null)
            {
                var (name, f1) = BestLabel(labels, panel.Latent);
                html.Append("<td>").Append(name).Append("</td><td>").Append(f1).Append("</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");

        foreach (var panel in panels)
            AppendPanel(html, input, panel);

        // Counts what the browser actually parsed, so a headless test can check every figure and token arrived as elements.
        html.Append("<script>\nconst b = document.body.dataset;\nb.svgCount = document.querySelectorAll('svg.histogram').length;\n")
            .Append("b.panelCount = document.querySelectorAll('section.latent').length;\nb.tokenCount = document.querySelectorAll('span.t').length;\n")
            .Append("b.scriptCount = document.scripts.length;\n").Append(SortScript).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendPanel(StringBuilder html, LatentDashboardInput input, LatentPanel panel)
    {
        long rows = input.Latents.RowCount;
        html.Append(Invariant($"<section class=\"latent\" id=\"latent-{panel.Latent}\">\n<h2>Latent {panel.Latent}</h2>\n<p class=\"stats\">density {Density(panel.ActiveRows, rows)} ({panel.ActiveRows:N0} of {rows:N0} rows) · max activation {Number(panel.MaxActivation)}"));
        if (input.Labels is { } labels)
        {
            var match = labels.Latents[panel.Latent];
            if (match.BestLabel >= 0)
            {
                var label = labels.Labels[match.BestLabel];
                html.Append(" · best label <b>").Append(HtmlText.Escape(label.Name)).Append(Invariant($"</b> F1 {match.F1:0.###}"));
                if (label.BestLatent == panel.Latent)
                    html.Append(Invariant($" (this label's best latent: precision {label.Precision:0.###}, recall {label.Recall:0.###}, AUROC {label.Auroc:0.###})"));
            }
            else
            {
                html.Append(" · no label match");
            }
        }
        html.Append(" · <a href=\"#top\">index</a></p>\n");
        if (input.Notes is { } notes && notes.TryGetValue(panel.Latent, out var note))
            html.Append("<p class=\"note\">").Append(HtmlText.Escape(note)).Append("</p>\n");
        html.Append("<div class=\"row\">\n<div><h3>Activation histogram (nonzero)</h3>\n");
        AppendHistogram(html, panel);
        html.Append("</div>\n");
        if (input.Logits is not null)
        {
            AppendEffects(html, "Promoted tokens", "pos", panel.Promoted);
            AppendEffects(html, "Suppressed tokens", "neg", panel.Suppressed);
        }
        html.Append("</div>\n<h3>Top activations</h3>\n");
        foreach (var context in panel.Contexts)
        {
            html.Append(Invariant($"<div class=\"ctx\"><span class=\"peak\">{Number(context.PeakValue)}</span> "));
            for (int i = 0; i < context.Values.Length; i++)
            {
                long row = context.FirstRow + i;
                float value = context.Values[i];
                double alpha = panel.MaxActivation > 0 ? Math.Clamp(value / panel.MaxActivation, 0, 1) : 0;
                string token = input.Tokens[(int)row];
                html.Append("<span class=\"t").Append(row == context.PeakRow ? " max" : "").Append('"');
                if (alpha > 0) html.Append(Invariant($" style=\"background:rgba(255,102,0,{alpha:0.##})\""));
                html.Append(Invariant($" title=\"{Number(value)} · row {row} · ")).Append(HtmlText.Escape(token.Replace("\n", "\\n", StringComparison.Ordinal)))
                    .Append("\">").Append(HtmlText.Token(token)).Append("</span>");
            }
            html.Append("</div>\n");
        }
        if (panel.Contexts.Count == 0) html.Append("<p>It never fires on these rows.</p>\n");
        html.Append("</section>\n");
    }

    private static void AppendHistogram(StringBuilder html, LatentPanel panel)
    {
        long top = Math.Max(1, panel.Histogram.Max());
        int bins = panel.Histogram.Length;
        double plotWidth = HistogramWidth - 2.0 * HistogramMargin, plotHeight = HistogramHeight - 2.0 * HistogramMargin;
        double barWidth = plotWidth / bins;
        html.Append(Invariant($"<svg class=\"histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{HistogramWidth}\" height=\"{HistogramHeight}\" viewBox=\"0 0 {HistogramWidth} {HistogramHeight}\" role=\"img\" aria-label=\"histogram of latent {panel.Latent}'s nonzero activations\">"));
        for (int b = 0; b < bins; b++)
        {
            if (panel.Histogram[b] == 0) continue;
            double height = plotHeight * panel.Histogram[b] / top;
            html.Append(Invariant($"<rect x=\"{HistogramMargin + b * barWidth:0.#}\" y=\"{HistogramMargin + plotHeight - height:0.#}\" width=\"{Math.Max(barWidth - 1, 0.5):0.#}\" height=\"{height:0.#}\"><title>{panel.Histogram[b]}</title></rect>"));
        }
        double axis = HistogramMargin + plotHeight;
        html.Append(Invariant($"<line x1=\"{HistogramMargin}\" y1=\"{axis}\" x2=\"{HistogramWidth - HistogramMargin}\" y2=\"{axis}\"/>"))
            .Append(Invariant($"<text x=\"{HistogramMargin}\" y=\"{axis + 14}\">0</text><text x=\"{HistogramWidth - HistogramMargin}\" y=\"{axis + 14}\" text-anchor=\"end\">{Number(panel.MaxActivation)}</text>"))
            .Append(Invariant($"<text x=\"{HistogramMargin}\" y=\"{HistogramMargin - 8}\">max count {top}</text></svg>\n"));
    }

    private static void AppendEffects(StringBuilder html, string title, string cssClass, IReadOnlyList<TokenEffect> effects)
    {
        html.Append("<div><h3>").Append(title).Append("</h3>\n<table class=\"logits ").Append(cssClass).Append("\">");
        foreach (var effect in effects)
            html.Append("<tr><td><span class=\"tok\">").Append(HtmlText.Token(effect.Token)).Append(Invariant($"</span></td><td>{effect.Value:+0.000;-0.000}</td></tr>"));
        html.Append("</table></div>\n");
    }

    private static (string Name, string F1) BestLabel(LabelScores labels, int latent)
    {
        var match = labels.Latents[latent];
        return match.BestLabel < 0 ? ("", "") : (HtmlText.Escape(labels.Labels[match.BestLabel].Name), Invariant($"{match.F1:0.###}"));
    }

    private static string Density(long active, long rows) => Invariant($"{(double)active / rows:0.#####}");

    private static string Number(float value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    // Clicking an index header re-sorts the rows by that column (numbers descending, names ascending); the page is
    // complete without it.
    private const string SortScript = """
        document.querySelectorAll('table.index th').forEach((th, col) => {
          th.title = 'sort'; th.style.cursor = 'pointer';
          th.addEventListener('click', () => {
            const body = th.closest('table').tBodies[0];
            const key = r => r.cells[col].textContent;
            const rows = [...body.rows];
            const numeric = rows.every(r => key(r) === '' || !isNaN(parseFloat(key(r))));
            rows.sort((a, c) => numeric ? (parseFloat(key(c)) || 0) - (parseFloat(key(a)) || 0) : key(a).localeCompare(key(c)));
            rows.forEach(r => body.appendChild(r));
          });
        });

        """;

    private const string Style = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
        table.index { border-collapse: collapse; margin-bottom: 2em; }
        table.index td, table.index th { border-bottom: 1px solid #ddd; padding: 2px 10px; text-align: right; }
        table.index td:nth-child(4), table.index th:nth-child(4) { text-align: left; }
        section.latent { border-top: 2px solid #888; padding-top: .5em; margin-top: 1.5em; }
        .row { display: flex; gap: 2em; flex-wrap: wrap; }
        .ctx { font-family: ui-monospace, monospace; white-space: nowrap; overflow-x: auto; margin: 2px 0; }
        .peak { display: inline-block; width: 4.5em; color: #666; text-align: right; }
        span.t { padding: 0 1px; border-radius: 2px; }
        span.t.max { outline: 1px solid #c40; }
        svg.histogram rect { fill: #f60; }
        svg.histogram line { stroke: #444; }
        svg.histogram text { font-size: 10px; fill: #444; }
        table.logits td { padding: 0 8px; font-family: ui-monospace, monospace; }
        table.pos td:last-child { color: #06c; }
        table.neg td:last-child { color: #c30; }

        """;
}
