using System.Text.Json.Serialization;
using SaeSharp.Analysis;
using SaeSharp.Cli.Internals;
using SaeSharp.Testbeds.ModularAddition;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp analyze helix --json</c>: the helix fit at the host's operand positions, its patching, and the host's embedding geometry.</summary>
/// <remarks>
/// <para>The top-level R² fields are those of the first operand position (a, position 0); <see cref="Positions"/> has each.</para>
/// <para><see cref="R2Helix"/>: R² on held-out numbers of the helix with the key periods T = p / f.</para>
/// <para><see cref="R2PcaSameParams"/>: R² of a PCA reconstruction with the helix's parameter count.</para>
/// <para><see cref="R2RandomPeriods"/>: Mean R² of helices on as many random periods.</para>
/// <para><see cref="PatchedAccuracy"/>: Test accuracy with every operand position's residual replaced by its fitted helix.</para>
/// <para><see cref="MeanAblatedAccuracy"/>: Test accuracy with those positions replaced by their mean instead.</para>
/// <para><see cref="Compared"/>: The other loss's host geometry (with <c>--compare</c>); absent otherwise.</para>
/// </remarks>
internal sealed record HelixOutput(
    string Host, long Seed, string Loss, string ModelDir, string Hook, IReadOnlyList<int> KeyFrequencies, IReadOnlyList<double> Periods,
    double R2Helix, double R2PcaSameParams, double R2RandomPeriods, double R2HelixWithoutLinear, double R2LinearOnly,
    int BasisSize, int PcaComponents,
    double PatchedAccuracy, double PatchedAccuracyWithoutLinear, double MeanAblatedAccuracy, double CleanAccuracy, int TestPairs,
    IReadOnlyList<HelixPositionOutput> Positions, HostGeometryOutput Geometry, HostGeometryOutput? Compared)
{
    public static HelixOutput From(ModAddHelixResult r, ModAddGeometryResult geometry, ModAddGeometryResult? compared, long seed, string modelDir)
    {
        var first = r.Fits[0];
        return new HelixOutput("modadd", seed, ModAddLossNames.Name(geometry.Loss), modelDir, r.Hook, r.KeyFrequencies, r.Periods,
            first.R2Helix, first.R2PcaSameParams, first.R2RandomPeriods, first.R2WithoutLinear, first.R2LinearOnly, first.BasisSize, first.PcaComponents,
            r.PatchedAccuracy, r.PatchedAccuracyWithoutLinear, r.MeanAblatedAccuracy, r.CleanAccuracy, r.TestPairs,
            [.. r.Positions.Zip(r.Fits, HelixPositionOutput.From)], HostGeometryOutput.From(geometry), compared is null ? null : HostGeometryOutput.From(compared));
    }
}

/// <summary>One operand position's helix fit.</summary>
internal sealed record HelixPositionOutput(
    int Position, int FitRows, int ScoreRows, int FitNumbers, int ScoreNumbers, int BasisRank,
    double R2Helix, double R2PcaSameParams, double R2RandomPeriods, double R2HelixWithoutLinear, double R2LinearOnly)
{
    public static HelixPositionOutput From(int position, HelixFitResult f) => new(
        position, f.FitRows, f.ScoreRows, f.FitNumbers, f.ScoreNumbers, f.BasisRank, f.R2Helix, f.R2PcaSameParams, f.R2RandomPeriods, f.R2WithoutLinear, f.R2LinearOnly);
}

/// <summary>A host's number-embedding circles per key frequency and its grokking steps (<see cref="ModAddGeometryResult"/>).</summary>
/// <remarks><para><see cref="StepsToMemorize"/>, <see cref="StepsToGeneralize"/>, <see cref="GrokkingDelay"/>: null when it did not happen.</para></remarks>
internal sealed record HostGeometryOutput(
    string Loss, double TestAccuracy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? StepsToMemorize,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? StepsToGeneralize,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? GrokkingDelay,
    double MeanCircularity, double KeyFrequencyNormFraction, IReadOnlyList<CircleOutput> Circles)
{
    public static HostGeometryOutput From(ModAddGeometryResult g) => new(
        ModAddLossNames.Name(g.Loss), g.TestAccuracy, g.StepsToMemorize, g.StepsToGeneralize, g.GrokkingDelay, g.MeanCircularity,
        g.KeyFrequencyNormFraction, [.. g.Circles.Select(c => new CircleOutput(c.Frequency, c.NormFraction, c.Circularity, c.AxisRatio))]);
}

/// <summary>One key frequency's circle (<see cref="EmbeddingCircle"/>).</summary>
internal sealed record CircleOutput(int Frequency, double NormFraction, double Circularity, double AxisRatio);
