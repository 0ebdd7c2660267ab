using Microsoft.Extensions.Logging;

namespace SaeSharp.Training;

/// <summary>Where and how a run records itself. Immutable; defaults train in memory and log nowhere.</summary>
public sealed record SaeTrainerOptions
{
    /// <summary>Checkpoint folder (SAELens layout plus training state and metrics.jsonl); null trains in memory only.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Allows a new run to replace an SAE already in <see cref="OutputDirectory"/> (default false).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Also write TensorBoard event files into the output folder (default false).</summary>
    public bool TensorBoard { get; init; }

    /// <summary>Extra cfg.json metadata (model_name, hook_name, context_size, ...) and a description of the data source, kept for resume and eval.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Receives progress lines; the library never writes to the console (default: none).</summary>
    public ILogger? Logger { get; init; }
}
