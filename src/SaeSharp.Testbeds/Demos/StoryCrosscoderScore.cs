using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Demos;

/// <summary>One crosscoder on base vs distilled, scored against the generator's labels.</summary>
/// <param name="Name"><c>l1</c> or <c>batchtopk</c>.</param>
/// <param name="Sparsity">Its sparsity rule.</param>
/// <param name="ExclusiveRecall">Share of the reflection labels (with support) whose best-matching latent is distilled-only.</param>
/// <param name="SharedAccuracy">Share of the base corpus' labels (with support) whose best-matching latent is shared.</param>
/// <param name="LatentScalingFlags">Exclusive latents that latent scaling flags as only looking exclusive.</param>
/// <param name="Live">Latents that fired on some row.</param>
/// <param name="Shared">Live latents classified shared.</param>
/// <param name="BaseOnly">Live latents classified base-only.</param>
/// <param name="DistilledOnly">Live latents classified distilled-only.</param>
/// <param name="Confusion">Scored labels by kind (rows: base label, reflection label) and their best latent's class (columns: shared, base-only, distilled-only, dead).</param>
/// <param name="Labels">Every label with support: its best latent and that latent's class.</param>
/// <param name="Fvu">Final training FVU per source (base, distilled).</param>
/// <param name="L0">Final mean active latents per row.</param>
/// <param name="Diff">The model diff.</param>
/// <param name="TrainingSeconds">Wall time of training.</param>
public sealed record StoryCrosscoderScore(
    string Name, CrosscoderSparsity Sparsity, double ExclusiveRecall, double SharedAccuracy, int LatentScalingFlags,
    int Live, int Shared, int BaseOnly, int DistilledOnly, int[,] Confusion, IReadOnlyList<StoryLabelMatch> Labels,
    IReadOnlyList<double> Fvu, double L0, ModelDiffResult Diff, double TrainingSeconds);
