using System.Text.Json.Serialization;
using SaeSharp.Analysis;

namespace SaeSharp.Cli.Output;

/// <summary>
/// <c>saesharp analyze geometry --json</c>: the galaxy scale of the SAE's decoder always; the lobe scale when a store
/// was given; the crystal scale when a story host was given. A scale not run has its keys present and null.
/// </summary>
/// <remarks>
/// <para><see cref="Sae"/>: The SAE folder, absolute.</para>
/// <para><see cref="RankRange"/>: [first, last] 1-based ranks of the decoder rows' covariance eigenvalues (descending) that the power law was fitted over.</para>
/// <para><see cref="PowerLawAlphaInterval"/>: [low, high] of α at <see cref="Confidence"/>.</para>
/// <para><see cref="Source"/>: The store folder and hook (<c>PATH#HOOK</c>) the co-occurrence was counted on.</para>
/// <para><see cref="Rows"/>: Store rows read, from the first, in order.</para>
/// <para><see cref="StoryHost"/>: The story host folder whose word pairs were scored, and <see cref="StoryHook"/> the residual point read.</para>
/// <para><see cref="Figures"/>: Files written under <c>--out</c>.</para>
/// </remarks>
internal sealed record GeometryOutput(
    string Sae, int Points, int Dimensions, int[] RankRange, double PowerLawAlpha, double[] PowerLawAlphaInterval, double Confidence,
    double IsotropicAlpha, double ClusteringEntropy, double IsotropicClusteringEntropy, int EntropyDimensions,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Source,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Blocks,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? ClusteredLatents,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? LobesAmi,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? LobesNullAmi,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? JaccardAmi,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? JaccardNullAmi,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? StoryHost,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? StoryHook,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? RelationPairs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? RelationSilhouette,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? RelationSilhouetteNull,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? RawRelationSilhouette,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? RawRelationSilhouetteNull,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? ParallelogramQuality,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? ParallelogramNull,
    IReadOnlyList<string> Figures)
{
    public static GeometryOutput From(
        string sae, double confidence, GalaxyResult galaxy, string? source, long? rows, LobeResult? lobes,
        string? storyHost, string? storyHook, CrystalResult? crystals, IReadOnlyList<string> figures) => new(
        sae, galaxy.Points, galaxy.Dimensions, [galaxy.FirstRank, galaxy.LastRank], galaxy.PowerLawAlpha, [galaxy.AlphaLow, galaxy.AlphaHigh], confidence,
        galaxy.IsotropicAlpha, galaxy.ClusteringEntropy, galaxy.IsotropicClusteringEntropy, galaxy.EntropyDimensions,
        source, rows, lobes?.Blocks, lobes?.Latents.Count, lobes?.LobesAmi, lobes?.LobesNullAmi, lobes?.JaccardAmi, lobes?.JaccardNullAmi,
        storyHost, storyHook, crystals?.Pairs, crystals?.Silhouette, crystals?.SilhouetteNull, crystals?.RawSilhouette, crystals?.RawSilhouetteNull,
        crystals?.ParallelogramQuality, crystals?.ParallelogramNull, figures);
}
