using System.Text.Json.Serialization;

namespace SaeSharp.Hosts;

/// <summary>Source-generated JSON for host configurations (snake_case, as the Python tools write).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false,
    UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(HostConfig))]
internal sealed partial class HostJsonContext : JsonSerializerContext;
