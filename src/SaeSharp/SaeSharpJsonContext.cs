using System.Text.Json.Serialization;
using SaeSharp.Training;

namespace SaeSharp;

/// <summary>Source-generated JSON for our records, snake_case so files stay readable by the Python tools.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SaeArchitecture))]
[JsonSerializable(typeof(SaeConfig))]
[JsonSerializable(typeof(TrainConfig))]
[JsonSerializable(typeof(TrainMetrics))]
internal sealed partial class SaeSharpJsonContext : JsonSerializerContext;
