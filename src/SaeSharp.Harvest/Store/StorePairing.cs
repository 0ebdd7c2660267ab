namespace SaeSharp.Harvest.Store;

/// <summary>
/// Checks that activation stores of different models can be paired row by row (a crosscoder's input): row i of each
/// must come from the same token, so each store must have been harvested from the same token ids, cut the same way,
/// and hold the same number of rows.
/// </summary>
public static class StorePairing
{
    /// <summary>
    /// Refuses <paramref name="storePaths"/> unless every store's rows line up with the first's: the same input (kind and
    /// content: the token-id file's or corpus' SHA-256 and size, and the settings that cut it), the same context length
    /// and harvest batch size, the same tokenizer, and the same row count. The models and hooks may differ.
    /// </summary>
    /// <exception cref="SaeSharpException">Fewer than two stores, a store that cannot be read, or one whose rows do not line up; the message names the store and what differs.</exception>
    public static void Check(IReadOnlyList<string> storePaths)
    {
        ArgumentNullException.ThrowIfNull(storePaths);
        if (storePaths.Count < 2) throw new SaeSharpException($"has {storePaths.Count} stores; pairing needs at least two", field: "stores");
        var first = StoreManifest.Read(storePaths[0]);
        string firstPath = Path.GetFullPath(storePaths[0]);
        for (int i = 1; i < storePaths.Count; i++)
        {
            var other = StoreManifest.Read(storePaths[i]);
            string? problem = Difference(first, other);
            if (problem is not null)
                throw new SaeSharpException($"cannot be paired with {firstPath}: {problem}; a crosscoder reads row i of every store as the same token, so harvest both from the same token ids with the same settings",
                    Path.GetFullPath(storePaths[i]), "stores");
        }
    }

    private static string? Difference(StoreManifest a, StoreManifest b)
    {
        StoreInput x = a.Input, y = b.Input;
        if (x.Kind != y.Kind) return $"it was harvested from {y.Kind}, the other from {x.Kind}";
        if (x.Source.Sha256 != y.Source.Sha256 || x.Source.Bytes != y.Source.Bytes)
            return $"it was harvested from different token ids ({y.Source.File}, sha256 {y.Source.Sha256[..Math.Min(12, y.Source.Sha256.Length)]}…, against {x.Source.File}, sha256 {x.Source.Sha256[..Math.Min(12, x.Source.Sha256.Length)]}…)";
        if (x with { Source = y.Source } != y) return "its input was cut into documents with other settings (format, field, order seed, BOS or EOS)";
        if (a.ContextLength != b.ContextLength) return $"its context length is {b.ContextLength}, the other's {a.ContextLength}";
        if (a.BatchSize != b.BatchSize) return $"its harvest batch size is {b.BatchSize}, the other's {a.BatchSize}";
        if (a.Tokenizer?.Sha256 != b.Tokenizer?.Sha256) return "it was tokenized with another tokenizer";
        if (a.Rows != b.Rows) return $"it holds {b.Rows} rows, the other {a.Rows} (a different length)";
        return null;
    }
}
