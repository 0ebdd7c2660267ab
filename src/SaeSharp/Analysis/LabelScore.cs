namespace SaeSharp.Analysis;

/// <summary>One label and the single latent that detects it best.</summary>
/// <param name="Label">Column of the label matrix.</param>
/// <param name="Name">The label's name.</param>
/// <param name="Support">Rows where the label holds.</param>
/// <param name="BestLatent">The latent with the highest F1 as a detector; −1 when the label has no support or no latent ever fires with it.</param>
/// <param name="Threshold">The latent detects when its activation is above this (0, or a fraction of its maximum; see <see cref="LabelScoringOptions.ThresholdFractions"/>).</param>
/// <param name="F1">F1 of that detector (0 when there is none).</param>
/// <param name="Precision">Its precision, TP / (rows it fires on).</param>
/// <param name="Recall">Its recall, TP / <paramref name="Support"/>.</param>
/// <param name="Auroc">AUROC of the latent's activation as a score for the label; NaN when the label holds on no row or on every row, or there is no best latent.</param>
public sealed record LabelScore(int Label, string Name, long Support, int BestLatent, double Threshold, double F1, double Precision, double Recall, double Auroc);
