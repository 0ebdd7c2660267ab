using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Demos;

/// <summary>The permuted-rows diagnostic: with the two sources independent, no distilled-only latent should detect a label.</summary>
/// <param name="Live">Live latents.</param>
/// <param name="DistilledOnly">Latents classified distilled-only.</param>
/// <param name="DistilledOnlyWithLabelMatch">Distilled-only latents that are some label's best latent with F1 at least the match threshold.</param>
/// <param name="MatchedLabels">Those labels.</param>
public sealed record StoryPermutedDiagnostic(int Live, int DistilledOnly, int DistilledOnlyWithLabelMatch, IReadOnlyList<string> MatchedLabels);
