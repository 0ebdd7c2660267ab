namespace SaeSharp.Analysis;

/// <summary>Every label's best single-latent detector and every latent's best label (<see cref="LabelScoring.Score"/>).</summary>
/// <param name="RowCount">Rows scored.</param>
/// <param name="Labels">One score per label, in label order.</param>
/// <param name="Latents">One match per latent, in latent order.</param>
/// <param name="Options">The options used.</param>
public sealed record LabelScores(long RowCount, IReadOnlyList<LabelScore> Labels, IReadOnlyList<LatentMatch> Latents, LabelScoringOptions Options)
{
    /// <summary>Labels with at least <see cref="LabelScoringOptions.MinSupport"/> positive rows: the ones coverage counts.</summary>
    public int LabelsScored => Labels.Count(l => l.Support >= Options.MinSupport);

    /// <summary>Scored labels whose best latent reaches <see cref="LabelScoringOptions.CoverageF1"/>.</summary>
    public int LabelsCovered => Labels.Count(l => l.Support >= Options.MinSupport && l.F1 >= Options.CoverageF1);

    /// <summary><see cref="LabelsCovered"/> / <see cref="LabelsScored"/>; NaN when no label has enough support.</summary>
    public double Coverage => LabelsScored == 0 ? double.NaN : (double)LabelsCovered / LabelsScored;
}
