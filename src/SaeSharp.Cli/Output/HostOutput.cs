using System.Text.Json.Serialization;
using SaeSharp.Cli.Internals;
using SaeSharp.Testbeds.ModularAddition;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp host train-modadd --json</c>: a <see cref="ModAddResult"/> in brief.</summary>
/// <remarks>
/// <para><see cref="Loss"/>: The training loss, <c>cross-entropy</c> or <c>harmonic</c>.</para>
/// <para><see cref="StepsToMemorize"/>: Step by which the host memorised its training pairs; null when it did not.</para>
/// <para><see cref="StepsToGeneralize"/>: Step by which it generalised (test accuracy above 99%); null when it did not.</para>
/// <para><see cref="KeyFrequencyNormFraction"/>: Share of the embedding's squared norm in the key frequencies.</para>
/// <para><see cref="TrainingSeconds"/>: Wall time of training (of the cached run when loaded), to 0.1 s.</para>
/// <para><see cref="ModelDir"/>: The host folder, absolute.</para>
/// </remarks>
internal sealed record HostTrainOutput(
    int P, long Seed, double TrainFraction, string Loss,
    [property: JsonPropertyName("train_acc")] double TrainAccuracy,
    [property: JsonPropertyName("test_acc")] double TestAccuracy,
    int Steps,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? StepsToMemorize,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? StepsToGeneralize,
    IReadOnlyList<int> KeyFrequencies, double KeyFrequencyNormFraction,
    double TrainingSeconds, double TrainingCpuSeconds, bool FromCache, string ModelDir)
{
    public static HostTrainOutput From(ModAddResult r, string modelDir) => new(
        r.Config.P, r.Config.Seed, r.Config.TrainFraction, ModAddLossNames.Name(r.Config.Loss), r.TrainAccuracy, r.TestAccuracy, r.Steps, r.StepsToMemorize, r.StepsToGeneralize,
        r.KeyFrequencies.Frequencies, r.KeyFrequencies.Explained,
        Math.Round(r.TrainingTime.TotalSeconds, 1), Math.Round(r.TrainingCpuTime.TotalSeconds, 1), r.FromCache, modelDir);
}

/// <summary><c>saesharp host export --json</c>: the ONNX file written.</summary>
/// <remarks>
/// <para><see cref="Onnx"/>: The file, absolute.</para>
/// <para><see cref="Input"/>: The graph's input name.</para>
/// <para><see cref="Output"/>: The graph's output name.</para>
/// </remarks>
internal sealed record HostExportOutput(string Onnx, long Bytes, int Opset, int Layers, string Input, string Output);
