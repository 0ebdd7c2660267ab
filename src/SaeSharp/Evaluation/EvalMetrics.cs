namespace SaeSharp.Evaluation;

/// <summary>Reconstruction and sparsity of an SAE over an evaluation set, in the units of the activations given.</summary>
/// <param name="Rows">Rows evaluated.</param>
/// <param name="Mse">Mean squared error per element.</param>
/// <param name="Fvu">Fraction of variance unexplained, Σ‖x̂ − x‖² / Σ‖x − x̄‖².</param>
/// <param name="L0">Mean active latents per row.</param>
/// <param name="DeadFraction">Fraction of latents that never fired on the evaluation rows.</param>
/// <param name="DenseFraction">Fraction of latents firing on more than 10% of rows.</param>
/// <param name="CosineSimilarity">Mean cosine between x̂ and x.</param>
public sealed record EvalMetrics(long Rows, double Mse, double Fvu, double L0, double DeadFraction, double DenseFraction, double CosineSimilarity);
