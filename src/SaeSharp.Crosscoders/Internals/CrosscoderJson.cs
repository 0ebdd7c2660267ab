using System.Text.Json;
using SaeSharp.IO;

namespace SaeSharp.Crosscoders.Internals;

/// <summary>Strict reading of a crosscoder config wherever it is stored (cfg.json, a training state's metadata).</summary>
internal static class CrosscoderJson
{
    /// <summary>
    /// Refuses a <c>sparsity</c> that is not exactly one of the names: the string enum converter also reads numbers
    /// (<c>0</c> is L1) and comma lists (<c>"L1, BatchTopK"</c>).
    /// </summary>
    public static void CheckSparsity(JsonElement config, string origin, string field)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty("sparsity", out var sparsity)) return;
        if (sparsity.ValueKind != JsonValueKind.String || !Enum.GetNames<CrosscoderSparsity>().Contains(sparsity.GetString(), StringComparer.Ordinal))
            throw new SaeSharpException($"{sparsity.GetRawText()} is not one of {string.Join(", ", Enum.GetNames<CrosscoderSparsity>())}", origin, field + ".sparsity");
    }

    /// <summary>A crosscoder config from JSON text, strictly.</summary>
    public static CrosscoderConfig ReadConfig(string json, string origin, string field)
    {
        using var document = StrictJson.Parse(json, origin, field);
        CheckSparsity(document.RootElement, origin, field);
        return StrictJson.Deserialize(document, CrosscoderJsonContext.Default.CrosscoderConfig, origin, field);
    }
}
