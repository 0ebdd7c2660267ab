using System.Text.Json.Serialization;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>Source-generated JSON for the modular-addition cache (snake_case, as the Python tools write).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false,
    UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ModAddConfig))]
[JsonSerializable(typeof(ModAddLogEntry))]
[JsonSerializable(typeof(ModAddSummary))]
internal sealed partial class ModAddJsonContext : JsonSerializerContext;
