using System.Net;
using System.Text;

namespace SaeSharp.Cli.Reporting;

/// <summary>
/// A self-contained HTML report: headings, paragraphs, tables and PNG figures embedded as data URIs, so the
/// one file can be mailed, archived or opened offline.
/// </summary>
internal sealed class HtmlReport(string title)
{
    private readonly StringBuilder _body = new();

    public HtmlReport Heading(string text, int level = 2)
    {
        _body.Append($"<h{level}>{Encode(text)}</h{level}>\n");
        return this;
    }

    public HtmlReport Paragraph(string text)
    {
        _body.Append($"<p>{Encode(text)}</p>\n");
        return this;
    }

    /// <summary>A figure from PNG bytes with a caption (alt text for readers that cannot see it).</summary>
    public HtmlReport Figure(byte[] png, string caption)
    {
        _body.Append($"<figure><img alt=\"{Encode(caption)}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\"/>")
             .Append($"<figcaption>{Encode(caption)}</figcaption></figure>\n");
        return this;
    }

    public HtmlReport Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        _body.Append("<table><thead><tr>");
        foreach (var cell in header) _body.Append($"<th>{Encode(cell)}</th>");
        _body.Append("</tr></thead><tbody>\n");
        foreach (var row in rows)
        {
            _body.Append("<tr>");
            foreach (var cell in row) _body.Append($"<td>{Encode(cell)}</td>");
            _body.Append("</tr>\n");
        }
        _body.Append("</tbody></table>\n");
        return this;
    }

    /// <summary>A key/value table of headline numbers.</summary>
    public HtmlReport Facts(IEnumerable<(string Name, string Value)> facts) =>
        Table(["quantity", "value"], facts.Select(f => (IReadOnlyList<string>)[f.Name, f.Value]));

    public string Render() => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"/><title>{{Encode(title)}}</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; }
        th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
        th { background: #f3f3f3; }
        figure { display: inline-block; margin: 0.5em; vertical-align: top; }
        figcaption { font-size: 0.85em; color: #555; max-width: 520px; }
        img { max-width: 100%; }
        </style></head>
        <body><h1>{{Encode(title)}}</h1>
        {{_body}}
        <script>
        // Lets a headless browser confirm that every figure decoded (the report test reads these attributes).
        window.addEventListener('load', () => {
          const images = [...document.images];
          document.body.dataset.imagesTotal = images.length;
          document.body.dataset.imagesLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
        });
        </script></body></html>
        """;

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
