using SaeSharp.Analysis;
using SaeSharp.Evaluation;
using SaeSharp.Hosts;
using SaeSharp.Training;

namespace SaeSharp.Cli.Demo;

/// <summary>Everything the demo measured, for the report and summary.json.</summary>
internal sealed record DemoResult(
    ModAddResult Host, string OnnxPath, string StorePath, long StoreRows, double OnnxVersusTorchMaxAbsDiff,
    string SaeDirectory, IReadOnlyList<TrainMetrics> SaeCurve, EvalMetrics SaeEval, GroundTruthSummary GroundTruth,
    SplicedLoss Spliced, double[] L0PerInput, double[] LatentFiringFractions, IReadOnlyList<(int Latent, double[,] Grid)> TopLatentGrids,
    IReadOnlyDictionary<string, double> StageSeconds);
