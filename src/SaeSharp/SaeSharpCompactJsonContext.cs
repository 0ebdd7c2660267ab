using System.Text.Json.Serialization;
using SaeSharp.Training;

namespace SaeSharp;

/// <summary>One-line JSON (metrics.jsonl records), snake_case.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TrainMetrics))]
[JsonSerializable(typeof(TrainConfig))]
[JsonSerializable(typeof(SaeArchitecture))]
internal sealed partial class SaeSharpCompactJsonContext : JsonSerializerContext;
