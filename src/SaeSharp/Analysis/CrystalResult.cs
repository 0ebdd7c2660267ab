namespace SaeSharp.Analysis;

/// <summary>The crystal-scale geometry of word pairs under relations (see <see cref="CrystalGeometry"/>).</summary>
/// <param name="Pairs">Pairs analysed.</param>
/// <param name="Relations">Distinct relation labels, in order of first appearance.</param>
/// <param name="LdaDimensions">Dimensions of the LDA projection (relations − 1).</param>
/// <param name="Silhouette">
/// Mean silhouette of the relation clusters of the difference vectors after the LDA projection, each half of the pairs
/// projected by the LDA fitted on the other half (held out, so the fit cannot make its own clusters).
/// </param>
/// <param name="SilhouetteNull">The same with the relation labels shuffled across pairs (mean over the shuffles; about 0 or below).</param>
/// <param name="RawSilhouette">Silhouette of the relation clusters of the raw difference vectors, without projection.</param>
/// <param name="RawSilhouetteNull">Its shuffled null.</param>
/// <param name="ParallelogramQuality">
/// Mean parallelogram quality over pairs of pairs (a, b), (c, d) under the same relation:
/// √((|ab| − |cd|)² + (|ac| − |bd|)²) / √((|ab|² + |bc|² + |cd|² + |ad|²)/2); 0 for a perfect parallelogram.
/// </param>
/// <param name="ParallelogramNull">The same over pairs of pairs under different relations.</param>
public sealed record CrystalResult(
    int Pairs, IReadOnlyList<string> Relations, int LdaDimensions, double Silhouette, double SilhouetteNull,
    double RawSilhouette, double RawSilhouetteNull, double ParallelogramQuality, double ParallelogramNull);
