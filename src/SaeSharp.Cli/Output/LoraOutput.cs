using SaeSharp.Evaluation;
using SaeSharp.Lora;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp lora --json</c>: LoRA adapters trained around a frozen, spliced SAE, measured on held-out stories.</summary>
/// <remarks>
/// <para><see cref="CeClean"/>: next-token CE (nats per token) of the host alone on the held-out stories.</para>
/// <para><see cref="CeSplicedBefore"/> / <see cref="CeSplicedAfter"/>: with the SAE spliced in at <see cref="Hook"/>, without and with the adapters.</para>
/// <para><see cref="KlBefore"/> / <see cref="KlAfter"/>: mean KL(p_clean ‖ p_spliced) per token, without and with the adapters.</para>
/// <para><see cref="GapReduction"/>: (CE_before − CE_after) / (CE_before − CE_clean), the share of the SAE's CE gap the adapters close.</para>
/// <para><see cref="AdaptersPath"/>: the adapters in PEFT layout; <see cref="MergedOnnxPath"/>: the merged host with the SAE spliced into the graph, exported to ONNX.</para>
/// <para><see cref="OnnxCeSplicedAfter"/>: that ONNX model's held-out CE through ONNX Runtime (the harvester's host): equals <see cref="CeSplicedAfter"/> up to float rounding.</para>
/// </remarks>
internal sealed record LoraOutput(
    string Host, string Sae, string Hook, int Rank, double Alpha, IReadOnlyList<int> Layers, IReadOnlyList<string> Modules,
    int Steps, int TrainSequences, int HeldOutSequences, long HeldOutTokens,
    double CeClean, double CeSplicedBefore, double CeSplicedAfter, double KlBefore, double KlAfter, double GapReduction,
    double ValidationKlBefore, double ValidationKlAfter, string AdaptersPath, string MergedOnnxPath, double OnnxCeSplicedAfter, double TrainSeconds, double Seconds)
{
    /// <summary>The record of one run: the held-out measurements without (<paramref name="before"/>) and with (<paramref name="after"/>) the adapters.</summary>
    public static LoraOutput From(string host, string sae, string hook, LoraConfig config, int trainSequences, int heldOutSequences,
        SplicedEvaluation before, SplicedEvaluation after, LoraTrainResult run, string adaptersPath, string mergedOnnxPath, double onnxCeSplicedAfter, double seconds)
    {
        double gap = before.CeSpliced - before.CeClean;
        return new(host, sae, hook, config.Rank, config.Alpha, config.Layers ?? [], config.Modules, run.Steps, trainSequences, heldOutSequences, before.Tokens,
            before.CeClean, before.CeSpliced, after.CeSpliced, before.KlSpliced, after.KlSpliced, gap == 0 ? double.NaN : (before.CeSpliced - after.CeSpliced) / gap,
            run.ValidationKlBefore, run.ValidationKlAfter, adaptersPath, mergedOnnxPath, onnxCeSplicedAfter, run.Seconds, seconds);
    }
}
