using System.Text.Json.Serialization;

namespace SaeSharp.Testbeds.Stories;

/// <summary>Source-generated JSON for the story host folder (snake_case, as the Python tools write).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(StoryHostSummary))]
[JsonSerializable(typeof(StoryHostOptions))]
[JsonSerializable(typeof(StoryPairSummary))]
[JsonSerializable(typeof(StoryPairOptions))]
internal sealed partial class StoryHostJsonContext : JsonSerializerContext;
