using SaeSharp.Analysis;
using SaeSharp.Evaluation;
using SaeSharp.Testbeds.Stories;
using SaeSharp.Training;

namespace SaeSharp.Testbeds.Demos;

/// <summary>Everything the story demo measured, for a summary. Disposing it disposes the host.</summary>
/// <param name="Options">The settings used.</param>
/// <param name="Host">The story host (trained now or loaded from the cache), with its validation loss and consistency accuracy.</param>
/// <param name="TokenIdsPath">The harvested stories' GPT-2 ids (a JSON array of arrays, one per story).</param>
/// <param name="StorePath">The activation store harvested through ONNX Runtime from the host's ONNX export, with <c>labels.bin</c> beside it.</param>
/// <param name="StoreRows">Rows in the store: one per token of every harvested story.</param>
/// <param name="HarvestTokensPerSecond">Tokens per second of the harvest through ONNX Runtime.</param>
/// <param name="SaeDirectory">The trained SAE's folder (SAELens layout).</param>
/// <param name="SaeCurve">The SAE's training metrics at each log step.</param>
/// <param name="SaeEval">The saved SAE evaluated on every row of the store.</param>
/// <param name="Labels">Its latents scored against the generator's labels on every row of the store.</param>
/// <param name="Spliced">Next-token loss and accuracy over the host's held-out stories with the residual stream at the hook left alone, replaced by the SAE's reconstruction at every position, or zeroed.</param>
/// <param name="SplicedTokens">Predicted positions behind <paramref name="Spliced"/>.</param>
/// <param name="DashboardPath">The latent dashboard.</param>
/// <param name="DashboardLatents">The latents it shows, in order.</param>
/// <param name="StageSeconds">Wall time per stage.</param>
public sealed record StoryDemoResult(
    StoryDemoOptions Options, StoryHostResult Host, string TokenIdsPath, string StorePath, long StoreRows, double HarvestTokensPerSecond,
    string SaeDirectory, IReadOnlyList<TrainMetrics> SaeCurve, EvalMetrics SaeEval, LabelScores Labels, SplicedLoss Spliced, long SplicedTokens,
    string DashboardPath, IReadOnlyList<int> DashboardLatents, IReadOnlyDictionary<string, double> StageSeconds) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() => Host.Dispose();
}
