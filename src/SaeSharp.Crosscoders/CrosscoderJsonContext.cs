using System.Text.Json.Serialization;
using SaeSharp.Crosscoders.Internals;

namespace SaeSharp.Crosscoders;

/// <summary>Source-generated JSON for the crosscoder's records, snake_case like the SAE files.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(CrosscoderConfig))]
[JsonSerializable(typeof(CrosscoderCheckpointInfo))]
internal sealed partial class CrosscoderJsonContext : JsonSerializerContext;

