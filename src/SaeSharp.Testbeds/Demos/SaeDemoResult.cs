using SaeSharp.Analysis;
using SaeSharp.Evaluation;
using SaeSharp.Testbeds.ModularAddition;
using SaeSharp.Training;

namespace SaeSharp.Testbeds.Demos;

/// <summary>Everything the SAE demo measured, for a report. Disposing it disposes the host.</summary>
/// <param name="Options">The settings used.</param>
/// <param name="Host">The modular-addition host (trained now or loaded from the cache).</param>
/// <param name="HostFolder">The host's cache entry.</param>
/// <param name="OnnxPath">The exported ONNX graph.</param>
/// <param name="StorePath">The activation store harvested through ONNX Runtime.</param>
/// <param name="StoreRows">Rows in the store (3 per input).</param>
/// <param name="OnnxVersusTorchMaxAbsDiff">Largest absolute difference between the harvested rows at <c>=</c> and TorchSharp's forward.</param>
/// <param name="SaeDirectory">The trained SAE's folder.</param>
/// <param name="SaeCurve">The SAE's training metrics at each log step.</param>
/// <param name="SaeEval">The saved SAE evaluated on all p² rows.</param>
/// <param name="GroundTruth">Its latents against the host's key frequencies.</param>
/// <param name="Spliced">The host's loss with the SAE spliced in.</param>
/// <param name="L0PerInput">Active latents per input, <c>[p²]</c>.</param>
/// <param name="LatentFiringFractions">Per latent, the share of inputs it fires on, <c>[L]</c>.</param>
/// <param name="TopLatentGrids">The most frequent live latents' activations over the (a, b) grid (at most 6).</param>
/// <param name="StageSeconds">Wall time per stage.</param>
public sealed record SaeDemoResult(
    SaeDemoOptions Options, ModAddResult Host, string HostFolder, string OnnxPath, string StorePath, long StoreRows, double OnnxVersusTorchMaxAbsDiff,
    string SaeDirectory, IReadOnlyList<TrainMetrics> SaeCurve, EvalMetrics SaeEval, GroundTruthSummary GroundTruth,
    SplicedLoss Spliced, double[] L0PerInput, double[] LatentFiringFractions, IReadOnlyList<(int Latent, double[,] Grid)> TopLatentGrids,
    IReadOnlyDictionary<string, double> StageSeconds) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() => Host.Dispose();
}
