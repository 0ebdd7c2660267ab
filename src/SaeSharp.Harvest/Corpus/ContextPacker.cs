using SaeSharp.Harvest.Internals;
using SaeSharp.Harvest.Tokenization;

namespace SaeSharp.Harvest.Corpus;

/// <summary>
/// Cuts a corpus into contexts of exactly <see cref="PackingOptions.ContextLength"/> tokens: documents (in file
/// order or a seeded order) are tokenized, wrapped in the optional BOS/EOS, concatenated and cut. The reading
/// position is a <see cref="CorpusCursor"/>; <see cref="Seek"/> to a saved cursor continues exactly where reading stopped.
/// </summary>
public sealed class ContextPacker
{
    private readonly DocumentCorpus _corpus;
    private readonly Gpt2Tokenizer _tokenizer;
    private readonly long[]? _order;
    private long _cachedDocument = -1;
    private int[] _cachedTokens = Array.Empty<int>();

    /// <summary>Creates a packer positioned at the corpus start.</summary>
    /// <exception cref="SaeSharpException">The options are out of range.</exception>
    public ContextPacker(DocumentCorpus corpus, Gpt2Tokenizer tokenizer, PackingOptions options)
    {
        options.Validate();
        _corpus = corpus;
        _tokenizer = tokenizer;
        Options = options;
        if (options.Seed is ulong seed) _order = SplitMix64.Permutation(corpus.Count, seed);
    }

    /// <summary>The packing settings.</summary>
    public PackingOptions Options { get; }

    /// <summary>Where the next context starts.</summary>
    public CorpusCursor Cursor { get; private set; }

    /// <summary>Continues from <paramref name="cursor"/>.</summary>
    /// <exception cref="SaeSharpException">The cursor lies outside the corpus.</exception>
    public void Seek(CorpusCursor cursor)
    {
        if (cursor.Document < 0 || cursor.Document > _corpus.Count || cursor.Token < 0)
            throw new SaeSharpException($"cursor ({cursor.Document}, {cursor.Token}) lies outside the corpus of {_corpus.Count} documents", _corpus.Path);
        if (cursor.Document < _corpus.Count && cursor.Token > DocumentTokens(cursor.Document).Length)
            throw new SaeSharpException($"cursor token {cursor.Token} lies past the end of document {cursor.Document}", _corpus.Path);
        Cursor = cursor;
    }

    /// <summary>The next context, or null when the corpus has fewer tokens left than one context.</summary>
    public int[]? Next() => Next(Options.ContextLength);

    /// <summary>The next <paramref name="length"/> tokens (at most one context), or null when fewer remain.</summary>
    public int[]? Next(int length)
    {
        var context = new int[length];
        int filled = 0;
        var cursor = Cursor;
        while (filled < length)
        {
            if (cursor.Document >= _corpus.Count) return null; // a partial context at the end is dropped
            var tokens = DocumentTokens(cursor.Document);
            int take = Math.Min(length - filled, tokens.Length - cursor.Token);
            tokens.AsSpan(cursor.Token, take).CopyTo(context.AsSpan(filled));
            filled += take;
            cursor = cursor.Token + take == tokens.Length ? new CorpusCursor(cursor.Document + 1, 0) : cursor with { Token = cursor.Token + take };
        }
        Cursor = cursor;
        return context;
    }

    private int[] DocumentTokens(long position)
    {
        if (position == _cachedDocument) return _cachedTokens;
        long index = _order is null ? position : _order[position];
        var text = _tokenizer.Encode(_corpus.Read(index));
        int extra = (Options.BosId.HasValue ? 1 : 0) + (Options.EosId.HasValue ? 1 : 0);
        var tokens = new int[text.Length + extra];
        int at = 0;
        if (Options.BosId is int bos) tokens[at++] = bos;
        text.CopyTo(tokens, at);
        at += text.Length;
        if (Options.EosId is int eos) tokens[at] = eos;
        _cachedDocument = position;
        _cachedTokens = tokens;
        return tokens;
    }
}
