using System.Text.Json.Serialization;

namespace SaeSharp.Lora;

/// <summary>Source-generated JSON for LoRA metrics lines and the resumable step record (snake_case, one line each).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(LoraProgress))]
[JsonSerializable(typeof(LoraTrainState))]
internal sealed partial class LoraJsonContext : JsonSerializerContext;
