namespace SaeSharp.Harvest.Corpus;

/// <summary>How a corpus file is split into documents.</summary>
public enum CorpusFormat
{
    /// <summary>Plain text, documents separated by <c>&lt;|endoftext|&gt;</c> (TinyStories' format).</summary>
    Text,

    /// <summary>JSON lines: one JSON object per line, the document in a string field (default <c>text</c>).</summary>
    JsonLines,

    /// <summary>One document per line.</summary>
    Lines,
}
