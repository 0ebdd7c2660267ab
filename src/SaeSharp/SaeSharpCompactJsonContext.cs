using System.Text.Json.Serialization;
using SaeSharp.Training;

namespace SaeSharp;

// NaN and ±∞ are written as "NaN", "Infinity" (an FVU over a constant batch is 0/0): a record must never fail to write.
/// <summary>One-line JSON (metrics.jsonl records), snake_case.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(TrainMetrics))]
[JsonSerializable(typeof(TrainConfig))]
[JsonSerializable(typeof(SaeArchitecture))]
internal sealed partial class SaeSharpCompactJsonContext : JsonSerializerContext;
