using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;

namespace SaeSharp.Testbeds.Demos;

/// <summary>One crosscoder of the demo, scored against the ground truth.</summary>
/// <param name="Name">Its name (<c>l1</c>, <c>batchtopk</c>, <c>distilled_l1</c>, <c>distilled_batchtopk</c>).</param>
/// <param name="ModelA">Source A's model name.</param>
/// <param name="ModelB">Source B's model name.</param>
/// <param name="Sparsity">Its sparsity rule.</param>
/// <param name="Accuracy">Share of scored latents whose class equals the truth from the hook key frequencies (NaN when none were scored).</param>
/// <param name="Confusion">Counts [truth, predicted] over scored latents, order Shared, AOnly, BOnly.</param>
/// <param name="Scored">Frequency-dominated latents whose dominant frequency is key to at least one model at the hook.</param>
/// <param name="EmbeddingTruthAccuracy">The same score with the truth taken from the embeddings' key frequencies instead (NaN when none were scored).</param>
/// <param name="EmbeddingTruthScored">Frequency-dominated latents whose dominant frequency is key to at least one model's embedding.</param>
/// <param name="Dominated">Frequency-dominated latents (scored or not).</param>
/// <param name="Live">Latents that fired on some input.</param>
/// <param name="Fvu">Final training FVU per source.</param>
/// <param name="L0">Final mean active latents per row.</param>
/// <param name="Diff">The model diff.</param>
/// <param name="DominantFrequency">Per latent: its dominant frequency, or 0 when it is dead or not dominated.</param>
/// <param name="DominantShare">Per latent: the dominant frequency's share of the variance of its pre-activation (0 when dead).</param>
/// <param name="Frequencies">The per-frequency table over the union of all four key sets (both models, embedding and hook).</param>
/// <param name="Steering">Steering with the strongest latent of each class, in its own model.</param>
/// <param name="TrainingSeconds">Wall time of training.</param>
public sealed record DemoScore(
    string Name, string ModelA, string ModelB, CrosscoderSparsity Sparsity, double Accuracy, int[,] Confusion, int Scored,
    double EmbeddingTruthAccuracy, int EmbeddingTruthScored, int Dominated, int Live,
    IReadOnlyList<double> Fvu, double L0, ModelDiffResult Diff, IReadOnlyList<int> DominantFrequency, IReadOnlyList<double> DominantShare,
    IReadOnlyList<FrequencyRow> Frequencies, IReadOnlyList<DemoSteering> Steering, double TrainingSeconds);
