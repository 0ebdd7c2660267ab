namespace SaeSharp.Analysis;

/// <summary>One latent: how often it fires and the label it detects best.</summary>
/// <param name="Latent">Index of the latent.</param>
/// <param name="Density">Fraction of rows where its activation is &gt; 0 (0 for a dead latent).</param>
/// <param name="MaxActivation">Its largest activation over the rows.</param>
/// <param name="BestLabel">The label it detects with the highest F1; −1 when it never fires on a labelled row.</param>
/// <param name="F1">That F1 (at its best threshold).</param>
public sealed record LatentMatch(int Latent, double Density, double MaxActivation, int BestLabel, double F1);
