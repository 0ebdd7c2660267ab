namespace SaeSharp.Crosscoders.Analysis;

/// <summary>The model diff of two sources of a crosscoder.</summary>
/// <param name="Options">The settings used.</param>
/// <param name="Rows">Rows analysed.</param>
/// <param name="Latents">One entry per latent, in index order.</param>
/// <param name="HistogramCounts">Live latents per relative-norm bin over [0, 1] (<see cref="ModelDiffOptions.HistogramBins"/> equal bins).</param>
public sealed record ModelDiffResult(ModelDiffOptions Options, long Rows, IReadOnlyList<LatentDiff> Latents, IReadOnlyList<int> HistogramCounts)
{
    /// <summary>How many latents fall in <paramref name="latentClass"/>.</summary>
    public int Count(LatentClass latentClass) => Latents.Count(l => l.Class == latentClass);
}
