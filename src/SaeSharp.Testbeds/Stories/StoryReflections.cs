using System.Text.RegularExpressions;
using L = SaeSharp.Testbeds.Stories.StoryLexicon;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// Labels text a model wrote (not the generator) by parsing it back against the grammar: the text is cut into
/// sentences, and a sentence is a self-reflection when it matches one of the two reflection templates exactly,
/// with words from the lexicon: <c>Wait, let me think again.</c> or <c>Maybe X was not FEELING after all.</c>, X a
/// name of the lexicon or <c>she</c>/<c>he</c>, FEELING one of its feelings. Anything else (a garbled reflection
/// included) is not one, so a rate measured this way never counts what the grammar would not have written.
/// </summary>
public static class StoryReflections
{
    private static readonly Regex Pause = new(@"^Wait, let me think again\.$", RegexOptions.CultureInvariant);

    private static readonly Regex Doubt = new(
        $@"^Maybe ({string.Join('|', L.FemaleNames.Concat(L.MaleNames).Append("she").Append("he"))}) was not ({string.Join('|', L.Feelings)}) after all\.$",
        RegexOptions.CultureInvariant);

    /// <summary>
    /// The sentences of <paramref name="text"/>: each ends after <c>.</c>, <c>!</c> or <c>?</c> (and a closing quote
    /// glued to it) that is followed by a space or the end; text after the last such mark is a sentence too. Spaces
    /// around sentences are dropped.
    /// </summary>
    public static IReadOnlyList<string> Sentences(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<string>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is not ('.' or '!' or '?')) continue;
            int end = i + 1;
            if (end < text.Length && text[end] == '"') end++;
            if (end < text.Length && !char.IsWhiteSpace(text[end])) continue;
            Add(text[start..end]);
            start = end;
            i = end - 1;
        }
        Add(text[start..]);
        return sentences;

        void Add(string piece)
        {
            piece = piece.Trim();
            if (piece.Length > 0) sentences.Add(piece);
        }
    }

    /// <summary>Whether <paramref name="sentence"/> (one sentence, trimmed) is a self-reflection of the grammar.</summary>
    public static bool IsReflection(string sentence)
    {
        ArgumentNullException.ThrowIfNull(sentence);
        return Pause.IsMatch(sentence) || Doubt.IsMatch(sentence);
    }

    /// <summary>Reflection sentences and all sentences over <paramref name="texts"/>.</summary>
    public static (int Reflections, int Sentences) Count(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int reflections = 0, sentences = 0;
        foreach (var text in texts)
        {
            foreach (var sentence in Sentences(text))
            {
                sentences++;
                if (IsReflection(sentence)) reflections++;
            }
        }
        return (reflections, sentences);
    }
}
