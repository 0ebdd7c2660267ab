using System.Text.Json.Serialization;
using SaeSharp.Testbeds.Demos;

namespace SaeSharp.Cli.Output;

/// <summary>
/// Source-generated JSON for every <c>--json</c> output of the tool (and the demos' <c>summary.json</c>): snake_case and
/// indented like the libraries' contexts. Nulls are left out unless a property says otherwise: where a null is an
/// answer (no vocabulary size, never generalised, nothing scored) the property carries
/// <c>[JsonIgnore(Condition = JsonIgnoreCondition.Never)]</c> so the key is always there.
/// </summary>
// NaN and ±∞ print as "NaN" / "Infinity": an output must never fail to write because a number is not finite.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(BenchOutput))]
[JsonSerializable(typeof(CrosscoderBenchOutput))]
[JsonSerializable(typeof(EvalOutput))]
[JsonSerializable(typeof(LoraOutput))]
[JsonSerializable(typeof(DarkMatterOutput))]
[JsonSerializable(typeof(ProbeOutput))]
[JsonSerializable(typeof(HelixOutput))]
[JsonSerializable(typeof(GeometryOutput))]
[JsonSerializable(typeof(TrainOutput))]
[JsonSerializable(typeof(CrosscoderTrainOutput))]
[JsonSerializable(typeof(HooksOutput))]
[JsonSerializable(typeof(StoreInspectOutput))]
[JsonSerializable(typeof(StoreMergeOutput))]
[JsonSerializable(typeof(SweepOutput))]
[JsonSerializable(typeof(SweepRunRecord))]
[JsonSerializable(typeof(SweepSummaryOutput))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(HarvestOutput))]
[JsonSerializable(typeof(HostTrainOutput))]
[JsonSerializable(typeof(HostExportOutput))]
[JsonSerializable(typeof(StoryHostOutput))]
[JsonSerializable(typeof(DemoSummary))]
[JsonSerializable(typeof(StoryDemoSummary))]
[JsonSerializable(typeof(CrosscoderDemoSummary))]
[JsonSerializable(typeof(StoryCrosscoderDemoSummary))]
[JsonSerializable(typeof(DemoModel))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
