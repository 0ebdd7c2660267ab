namespace SaeSharp.Crosscoders.Internals;

/// <summary>The content of a crosscoder folder's <c>cfg.json</c>.</summary>
internal sealed record CrosscoderCheckpointInfo(string Format, CrosscoderConfig Crosscoder, IReadOnlyList<double> SourceScales, long Step);
