namespace SaeSharp.Analysis;

/// <summary>The lobe-scale geometry of a dictionary (see <see cref="LobeGeometry"/>).</summary>
/// <param name="Blocks">Blocks of rows the co-occurrence was counted over (a partial last block is dropped).</param>
/// <param name="Latents">Indices of the clustered latents, most often firing first.</param>
/// <param name="PhiClusters">Spectral cluster of each clustered latent under the phi-coefficient affinity.</param>
/// <param name="GeometricClusters">Spectral cluster of each clustered latent under the decoder directions' angular similarity 1 − arccos(cos)/π.</param>
/// <param name="LobesAmi">Adjusted mutual information between <paramref name="PhiClusters"/> and <paramref name="GeometricClusters"/>.</param>
/// <param name="LobesNullAmi">Mean AMI of the same clusterings after shuffling the co-occurrence clusters across latents (about 0).</param>
/// <param name="JaccardAmi">AMI between the Jaccard-affinity clusters and the geometric ones.</param>
/// <param name="JaccardNullAmi">Its shuffled null.</param>
/// <param name="PhiAffinity">The phi affinity of the clustered latents <c>[U, U]</c> (negative phi clipped to 0), in the order of <paramref name="Latents"/>.</param>
public sealed record LobeResult(
    int Blocks, IReadOnlyList<int> Latents, IReadOnlyList<int> PhiClusters, IReadOnlyList<int> GeometricClusters,
    double LobesAmi, double LobesNullAmi, double JaccardAmi, double JaccardNullAmi, double[,] PhiAffinity);
