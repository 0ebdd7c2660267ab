using System.Text.Json;
using SaeSharp.IO;

namespace SaeSharp.Harvest.Corpus;

/// <summary>Exact harvest inputs: a JSON array of token-id arrays, one per sequence.</summary>
public static class TokenIdsFile
{
    /// <summary>Reads and checks a token-id file.</summary>
    /// <exception cref="SaeSharpException">The file is missing, not such an array, empty, or holds an empty sequence or a negative id.</exception>
    public static int[][] Read(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SaeSharpException("token-id file not found", full, "token_ids_path");
        using var document = StrictJson.Parse(StrictJson.ReadUtf8File(full, "token_ids_path"), full, "token_ids_path");
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new SaeSharpException("not a JSON array of token-id arrays", full, "token_ids_path");
            var sequences = new List<int[]>();
            int i = 0;
            foreach (var sequence in document.RootElement.EnumerateArray())
            {
                if (sequence.ValueKind != JsonValueKind.Array || sequence.GetArrayLength() == 0)
                    throw new SaeSharpException($"sequence {i} is not a non-empty array of ids", full, "token_ids_path");
                var ids = new int[sequence.GetArrayLength()];
                int t = 0;
                foreach (var id in sequence.EnumerateArray())
                {
                    if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out ids[t]) || ids[t] < 0)
                        throw new SaeSharpException($"sequence {i}, position {t}: {id} is not a non-negative 32-bit id", full, "token_ids_path");
                    t++;
                }
                sequences.Add(ids);
                i++;
            }
            if (sequences.Count == 0) throw new SaeSharpException("holds no sequence", full, "token_ids_path");
            return sequences.ToArray();
        }
    }
}
