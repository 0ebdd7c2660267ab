using SaeSharp.Crosscoders.Analysis;

namespace SaeSharp.Testbeds.Demos;

/// <summary>One frequency's line in the demo's per-frequency table.</summary>
/// <param name="Frequency">k.</param>
/// <param name="Truth">Where k is a key frequency at the hook: Shared (both), AOnly, BOnly; null when it is key only in an embedding.</param>
/// <param name="Latents">Frequency-dominated latents whose dominant frequency is k.</param>
/// <param name="Shared">Of those, classified shared.</param>
/// <param name="AOnly">Classified A-only.</param>
/// <param name="BOnly">Classified B-only.</param>
/// <param name="MeanRelativeNorm">Their mean relative norm (NaN when none).</param>
public sealed record FrequencyRow(int Frequency, LatentClass? Truth, int Latents, int Shared, int AOnly, int BOnly, double MeanRelativeNorm);
