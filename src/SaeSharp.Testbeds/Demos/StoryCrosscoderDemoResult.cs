using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Demos;

/// <summary>What <see cref="StoryCrosscoderDemo.Run"/> measured.</summary>
/// <param name="Options">The settings used.</param>
/// <param name="Pair">The pair's summary (teacher and distilled model).</param>
/// <param name="PairPath">The pair's cache folder.</param>
/// <param name="BasePath">The base host's cache folder.</param>
/// <param name="StorePaths">The base's and the distilled model's activation stores.</param>
/// <param name="Rows">Rows per store (one per harvested token).</param>
/// <param name="Crosscoders">The L1 and BatchTopK crosscoders on base (A) vs distilled (B).</param>
/// <param name="Permuted">The diagnostic: a BatchTopK crosscoder on independent sources (the distilled rows permuted).</param>
/// <param name="Steering">Steering the distilled model with a reflection latent of the BatchTopK crosscoder.</param>
/// <param name="DashboardPath">The max-activating-contexts dashboard of the BatchTopK crosscoder's latents.</param>
/// <param name="StageSeconds">Wall time per stage.</param>
public sealed record StoryCrosscoderDemoResult(
    StoryCrosscoderDemoOptions Options, StoryPairSummary Pair, string PairPath, string BasePath, IReadOnlyList<string> StorePaths, long Rows,
    IReadOnlyList<StoryCrosscoderScore> Crosscoders, StoryPermutedDiagnostic Permuted, StorySteering Steering, string DashboardPath,
    IReadOnlyDictionary<string, double> StageSeconds);
