using System.Text;
using static SaeSharp.Testbeds.Stories.StoryLabels;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// A story as the grammar writes it, word by word: the text, one label bitset per character (spaces carry none)
/// and the points where the next word is forced. Tokens get their labels later from the characters they cover.
/// </summary>
internal sealed class StoryDraft
{
    private readonly StringBuilder _text = new();
    private readonly List<ulong> _charLabels = [];
    private ulong _sentence;
    private bool _attach = true;

    public List<ForcedPoint> Points { get; } = [];

    public string Text => _text.ToString();

    public IReadOnlyList<ulong> CharLabels => _charLabels;

    /// <summary>Labels every word and mark of the sentence begun now carries, until <see cref="EndSentence"/>.</summary>
    public void BeginSentence(ulong labels) => _sentence = labels;

    /// <summary>Closes the sentence with <paramref name="mark"/> (. ! ?).</summary>
    public void EndSentence(string mark = ".")
    {
        Mark(mark, Bit(SentenceEnd));
        _sentence = 0;
    }

    /// <summary>Adds a word after a space (none at the start or right after an opening quote).</summary>
    public void Word(string word, ulong labels = 0)
    {
        if (!_attach) Append(" ", 0);
        Append(word, labels | _sentence);
        _attach = false;
    }

    /// <summary>Adds several plain words.</summary>
    public void Words(string words, ulong labels = 0)
    {
        foreach (var word in words.Split(' ')) Word(word, labels);
    }

    /// <summary>A punctuation mark glued to what precedes it.</summary>
    public void Mark(string mark, ulong labels = 0)
    {
        Append(mark, labels | _sentence | Bit(Punctuation));
        _attach = false;
    }

    /// <summary>Opens a quotation: it and everything up to <see cref="CloseQuote"/> is in quotes.</summary>
    public void OpenQuote()
    {
        _sentence |= Bit(InQuotes);
        if (!_attach) Append(" ", 0);
        Append("\"", _sentence | Bit(Punctuation));
        _attach = true;
    }

    public void CloseQuote()
    {
        Append("\"", _sentence | Bit(Punctuation));
        _sentence &= ~(Bit(InQuotes) | Bit(Question));
        _attach = false;
    }

    /// <summary>Adds a sentence-level label to the sentence in progress (from here on).</summary>
    public void AddSentenceLabel(ulong labels) => _sentence |= labels;

    /// <summary>Records that the next word, <paramref name="expected"/>, is the only one the grammar allows here.</summary>
    public void Forced(string kind, string expected) => Points.Add(new ForcedPoint(kind, _text.Length, expected));

    private void Append(string s, ulong labels)
    {
        _text.Append(s);
        for (int i = 0; i < s.Length; i++) _charLabels.Add(s[i] == ' ' ? 0 : labels);
    }
}

/// <summary>A cut in a draft: the text before <paramref name="Offset"/> fixes the next word.</summary>
internal readonly record struct ForcedPoint(string Kind, int Offset, string Expected);
