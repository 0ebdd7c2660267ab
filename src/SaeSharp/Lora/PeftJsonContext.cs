using System.Text.Json.Serialization;

namespace SaeSharp.Lora;

/// <summary>Source-generated JSON for <see cref="PeftAdapterConfig"/>, keys sorted as PEFT writes them.</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(PeftAdapterConfig))]
internal sealed partial class PeftJsonContext : JsonSerializerContext;
