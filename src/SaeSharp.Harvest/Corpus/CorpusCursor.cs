namespace SaeSharp.Harvest.Corpus;

/// <summary>Where reading resumes: the document's position in the reading order and the token offset inside it.</summary>
/// <param name="Document">Position in the (seeded) document order; for a token-id file, the sequence index.</param>
/// <param name="Token">Tokens of that document already consumed (BOS/EOS included).</param>
public readonly record struct CorpusCursor(long Document, int Token);
