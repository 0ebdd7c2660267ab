using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp host train-stories --json</c>: a <see cref="StoryHostResult"/> in brief.</summary>
/// <remarks>
/// <para><see cref="ValLoss"/>: Mean next-token cross-entropy (nats) over every position of every held-out story, each fed alone from its first token, no BOS (TorchSharp).</para>
/// <para><see cref="OnnxValLoss"/>: The same through model.onnx in ONNX Runtime on heldout_stories.txt re-tokenized with GPT-2's tokenizer.</para>
/// <para><see cref="ConsistencyAccuracy"/>: Share of held-out prompts whose next token the story fixes (a pronoun, a speaker's name, a phrase's last word) where the model's top token is right.</para>
/// <para><see cref="ConsistencyByKind"/>: The same per kind.</para>
/// <para><see cref="TrainTokens"/>: Predicted tokens trained on (padding excluded).</para>
/// <para><see cref="TrainCpuSeconds"/>: Processor time of the process during training, all threads (less sensitive to other load than wall time).</para>
/// <para><see cref="Seconds"/>: Wall time of the whole recipe (of the cached run when loaded).</para>
/// </remarks>
internal sealed record StoryHostOutput(
    ulong Seed, int RecipeVersion, double ValLoss, double OnnxValLoss, double OnnxValLossDifference, long HeldOutTokens,
    double ConsistencyAccuracy, IReadOnlyDictionary<string, double> ConsistencyByKind,
    int VocabSize, long Parameters, int Layers, int ModelDim, int TrainSteps, long TrainTokens, double TokensPerSecond,
    double TrainSeconds, double TrainCpuSeconds, double Seconds, int Threads, bool FromCache, string HostPath, string OnnxPath, string HeldOutPath)
{
    public static StoryHostOutput From(StoryHostResult r) => From(r.Summary, r.FromCache, r.HostPath);

    public static StoryHostOutput From(StoryHostSummary s, bool fromCache, string hostPath)
    {
        return new(s.Options.Seed, s.RecipeVersion, s.ValLoss, s.OnnxValLoss, Math.Abs(s.OnnxValLoss - s.ValLoss), s.HeldOutTokens,
            s.ConsistencyAccuracy, s.ConsistencyByKind, s.VocabularySize, s.Parameters, s.Options.Layers, s.Options.ModelDim,
            s.Options.Training.Steps, s.TrainTokens, Math.Round(s.TokensPerSecond, 1), Math.Round(s.TrainSeconds, 1), Math.Round(s.TrainCpuSeconds, 1), Math.Round(s.TotalSeconds, 1),
            s.Threads, fromCache, hostPath, Path.Combine(hostPath, StoryHost.OnnxFileName), Path.Combine(hostPath, StoryHost.HeldOutFileName));
    }
}
