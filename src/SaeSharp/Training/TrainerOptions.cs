using Microsoft.Extensions.Logging;

namespace SaeSharp.Training;

/// <summary>Where and how a run (SAE or crosscoder) records itself. Immutable; defaults train in memory and log nowhere.</summary>
public sealed record TrainerOptions
{
    /// <summary>Checkpoint folder (the model's files plus training state and metrics.jsonl); null trains in memory only.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Allows a new run to replace a run already in <see cref="OutputDirectory"/> (default false).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Also write TensorBoard event files into the output folder (default false).</summary>
    public bool TensorBoard { get; init; }

    /// <summary>Extra metadata (model_name, hook_name, context_size, ...) and a description of the data source, kept in the training state for resume and eval (and in an SAE's cfg.json).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Receives progress lines; the library never writes to the console (default: none).</summary>
    public ILogger? Logger { get; init; }
}
