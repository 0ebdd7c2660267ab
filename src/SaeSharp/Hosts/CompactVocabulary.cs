using System.Text;
using System.Text.Json;
using SaeSharp.IO;

namespace SaeSharp.Hosts;

/// <summary>
/// The tokens a model trained on a small corpus actually has: compact index i stands for tokenizer id
/// <see cref="Ids"/>[i]. A model over the 50,257 GPT-2 ids spends nearly all of its unembedding on ids its corpus
/// never uses; a compact vocabulary keeps the logits as wide as the corpus needs and a lookup at the model's edges
/// (the ONNX export's) keeps its inputs and outputs in tokenizer ids.
/// </summary>
/// <remarks>
/// Saved as <see cref="FileName"/>: <c>{"original_vocab_size": 50257, "unknown_id": 50256, "ids": [...]}</c>, where
/// <c>ids</c> are distinct tokenizer ids in ascending order (compact index = position in the list) and
/// <c>unknown_id</c> is one of them: the row a tokenizer id outside the list is read as.
/// </remarks>
public sealed class CompactVocabulary
{
    /// <summary>The file name inside a host folder.</summary>
    public const string FileName = "vocab_map.json";

    private readonly Dictionary<int, int> _indexOf;

    private CompactVocabulary(int[] ids, int originalSize, int unknownId, string origin)
    {
        if (originalSize < 1)
            throw new SaeSharpException($"is {originalSize}; must be at least 1", origin, "original_vocab_size");
        if (ids.Length == 0)
            throw new SaeSharpException("is empty; a vocabulary needs at least one id", origin, "ids");
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] < 0 || ids[i] >= originalSize)
                throw new SaeSharpException($"entry {i} is {ids[i]}, outside [0, {originalSize})", origin, "ids");
            if (i > 0 && ids[i] <= ids[i - 1])
                throw new SaeSharpException($"entry {i} ({ids[i]}) does not follow entry {i - 1} ({ids[i - 1]}); ids must be distinct and ascending", origin, "ids");
        }
        _indexOf = new Dictionary<int, int>(ids.Length);
        for (int i = 0; i < ids.Length; i++) _indexOf[ids[i]] = i;
        if (!_indexOf.TryGetValue(unknownId, out int unknownIndex))
            throw new SaeSharpException($"is {unknownId}, which is not one of the ids", origin, "unknown_id");
        Ids = ids;
        OriginalSize = originalSize;
        UnknownId = unknownId;
        UnknownIndex = unknownIndex;
    }

    /// <summary>Tokenizer id of each compact index, ascending.</summary>
    public IReadOnlyList<int> Ids { get; }

    /// <summary>Compact vocabulary size (the model's <c>vocab_size</c>).</summary>
    public int Count => Ids.Count;

    /// <summary>The tokenizer's vocabulary size (50,257 for GPT-2): the width of logits indexed by tokenizer id.</summary>
    public int OriginalSize { get; }

    /// <summary>The tokenizer id whose row an unknown id is read as (GPT-2's <c>&lt;|endoftext|&gt;</c> for the story host).</summary>
    public int UnknownId { get; }

    /// <summary>Compact index of <see cref="UnknownId"/>.</summary>
    public int UnknownIndex { get; }

    /// <summary>The ids used by <paramref name="sequences"/> plus <paramref name="unknownId"/>, ascending.</summary>
    /// <exception cref="SaeSharpException">An id lies outside [0, <paramref name="originalSize"/>).</exception>
    public static CompactVocabulary FromSequences(IEnumerable<IReadOnlyList<int>> sequences, int originalSize, int unknownId)
    {
        var used = new SortedSet<int> { unknownId };
        foreach (var sequence in sequences) used.UnionWith(sequence);
        return new CompactVocabulary(used.ToArray(), originalSize, unknownId, "sequences");
    }

    /// <summary>A vocabulary from its parts (checked as the file is).</summary>
    /// <exception cref="SaeSharpException">The ids are not distinct, ascending and inside the original vocabulary, or lack <paramref name="unknownId"/>.</exception>
    public static CompactVocabulary Create(IReadOnlyList<int> ids, int originalSize, int unknownId) =>
        new(ids.ToArray(), originalSize, unknownId, "vocabulary");

    /// <summary>Whether <paramref name="tokenId"/> has its own compact index.</summary>
    public bool Contains(int tokenId) => _indexOf.ContainsKey(tokenId);

    /// <summary>Tokenizer ids → compact indices.</summary>
    /// <exception cref="SaeSharpException">An id is not in the vocabulary (a model trained on this vocabulary never saw it).</exception>
    public long[] ToCompact(IReadOnlyList<int> tokenIds)
    {
        var result = new long[tokenIds.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = _indexOf.TryGetValue(tokenIds[i], out int index) ? index
                : throw new SaeSharpException($"token id {tokenIds[i]} at position {i} is not in the model's {Count}-token vocabulary", field: "token_ids");
        return result;
    }

    /// <summary>For every tokenizer id, its compact index, or <see cref="UnknownIndex"/> when it has none: the ONNX input lookup.</summary>
    public long[] InputLookup()
    {
        var lookup = new long[OriginalSize];
        Array.Fill(lookup, UnknownIndex);
        for (int i = 0; i < Ids.Count; i++) lookup[Ids[i]] = i;
        return lookup;
    }

    /// <summary>Writes <see cref="FileName"/>'s format to <paramref name="path"/>, atomically.</summary>
    public void Save(string path)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("original_vocab_size", OriginalSize);
            w.WriteNumber("unknown_id", UnknownId);
            w.WriteStartArray("ids");
            foreach (var id in Ids) w.WriteNumberValue(id);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        AtomicFile.WriteAllText(path, Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
    }

    /// <summary>Reads a file written by <see cref="Save"/>.</summary>
    /// <exception cref="SaeSharpException">The file is unreadable, not strict JSON, or a field is missing, mistyped or inconsistent.</exception>
    public static CompactVocabulary Load(string path)
    {
        using var document = StrictJson.Parse(StrictJson.ReadUtf8File(path), path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException($"is a JSON {root.ValueKind}; expected an object", path);
        int Int(string field) =>
            root.TryGetProperty(field, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v
                : throw new SaeSharpException("is missing or not an integer", path, field);
        int originalSize = Int("original_vocab_size"), unknownId = Int("unknown_id");
        if (!root.TryGetProperty("ids", out var idsElement) || idsElement.ValueKind != JsonValueKind.Array)
            throw new SaeSharpException("is missing or not a list", path, "ids");
        var ids = new int[idsElement.GetArrayLength()];
        int i = 0;
        foreach (var e in idsElement.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out ids[i]))
                throw new SaeSharpException($"entry {i} is {e.GetRawText()}; expected an integer", path, "ids");
            i++;
        }
        return new CompactVocabulary(ids, originalSize, unknownId, path);
    }
}
