namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// A held-out prompt whose next token the grammar fixes: the prefix of a freshly generated story cut just before
/// a word that is the only one the grammar allows there.
/// </summary>
/// <param name="Kind"><c>pronoun</c> (a named character's pronoun), <c>speaker</c> (the name after <c>said</c>) or <c>phrase</c> (the last word of a fixed phrase).</param>
/// <param name="PromptText">The story's text up to the cut (no trailing space).</param>
/// <param name="PromptIds">GPT-2 ids of <paramref name="PromptText"/>, a prefix of the full story's ids.</param>
/// <param name="ExpectedId">The GPT-2 id of the forced next token (the word with its leading space).</param>
/// <param name="ExpectedText">That token's text, e.g. <c>" her"</c>.</param>
public sealed record ConsistencyPrompt(string Kind, string PromptText, IReadOnlyList<int> PromptIds, int ExpectedId, string ExpectedText);
