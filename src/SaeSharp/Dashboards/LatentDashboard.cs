using SaeSharp.IO;

namespace SaeSharp.Dashboards;

/// <summary>
/// A latent dashboard in the style of SAEDashboard and Neuronpedia, as one self-contained HTML page: an index of the
/// shown latents (density, maximum, best label and its F1), and per latent its top-activating contexts with each
/// token shaded by activation (value on hover), a histogram of its nonzero activations, the tokens its decoder
/// direction promotes and suppresses, its best-matching label with F1, and its density.
/// </summary>
public static class LatentDashboard
{
    /// <summary>Renders the page.</summary>
    /// <param name="input">Activations, token strings and what to show.</param>
    /// <returns>The HTML; about 15 KB per latent at the default sizes.</returns>
    /// <exception cref="SaeSharpException">The inputs disagree (row counts, latent counts, widths), an activation is not finite, or an option is out of range.</exception>
    public static string Render(LatentDashboardInput input)
    {
        Check(input);
        var (panels, _, _) = LatentPanels.Build(input);
        return DashboardHtml.Render(input, panels);
    }

    /// <summary>Renders the page and writes it atomically (a temporary file renamed into place).</summary>
    /// <param name="path">The HTML file to write.</param>
    /// <param name="input">Activations, token strings and what to show.</param>
    /// <param name="overwrite">Replace an existing file (default false).</param>
    /// <exception cref="SaeSharpException">The file exists and <paramref name="overwrite"/> is false, or as for <see cref="Render"/>.</exception>
    public static void Write(string path, LatentDashboardInput input, bool overwrite = false)
    {
        if (!overwrite && File.Exists(path))
            throw new SaeSharpException("already exists; set overwrite to replace it", filePath: path, field: "overwrite");
        AtomicFile.WriteAllText(path, Render(input));
    }

    private static void Check(LatentDashboardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.Options.Validate();
        long rows = input.Latents.RowCount;
        if (input.Tokens.Count != rows)
            throw new SaeSharpException($"{input.Tokens.Count} token strings for {rows} rows", field: "tokens");
        if (input.SequenceIds is { } ids && ids.Count != rows)
            throw new SaeSharpException($"{ids.Count} sequence ids for {rows} rows", field: "sequence_ids");
        if (input.Logits is { } logits)
        {
            var (decoder, unembedding) = (logits.DecoderLD, logits.UnembeddingVD);
            if (decoder.dim() != 2 || unembedding.dim() != 2 || decoder.shape[1] != unembedding.shape[1] || unembedding.shape[0] < 1)
                throw new SaeSharpException($"decoder [{string.Join(", ", decoder.shape)}] and unembedding [{string.Join(", ", unembedding.shape)}] must be [L, D] and [V, D] with the same D", field: "unembedding");
            if (decoder.shape[0] != input.Latents.LatentCount)
                throw new SaeSharpException($"the decoder has {decoder.shape[0]} rows for {input.Latents.LatentCount} latents", field: "decoder");
        }
        if (input.Labels is { } labels)
        {
            if (labels.RowCount != rows || labels.Latents.Count != input.Latents.LatentCount)
                throw new SaeSharpException($"label scores of {labels.RowCount} rows and {labels.Latents.Count} latents do not describe these {rows} rows and {input.Latents.LatentCount} latents", field: "labels");
        }
        else if (input.Options.Order == LatentOrder.LabelMatch && input.Options.Latents is null)
        {
            throw new SaeSharpException("ordering by label match needs label scores", field: "order");
        }
    }
}
