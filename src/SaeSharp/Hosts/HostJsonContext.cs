using System.Text.Json.Serialization;

namespace SaeSharp.Hosts;

/// <summary>Source-generated JSON for host configurations and training logs (snake_case, as the Python tools write).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false,
    UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(HostConfig))]
[JsonSerializable(typeof(ModAddConfig))]
[JsonSerializable(typeof(ModAddLogEntry))]
[JsonSerializable(typeof(ModAddSummary))]
internal sealed partial class HostJsonContext : JsonSerializerContext;
