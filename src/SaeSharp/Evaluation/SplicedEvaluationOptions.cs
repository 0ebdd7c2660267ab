namespace SaeSharp.Evaluation;

/// <summary>Where an SAE is spliced into a host and which predictions are scored.</summary>
public sealed record SplicedEvaluationOptions
{
    /// <summary>The hook point whose residual stream the SAE reconstructs (e.g. <c>resid_post.2</c>). Required.</summary>
    public required string Hook { get; init; }

    /// <summary>
    /// Leading positions left untouched by every replacement (1 keeps a BOS token's residual, whose norm an SAE
    /// seldom reconstructs). Default 0: every position is replaced.
    /// </summary>
    public int UntouchedPositions { get; init; }

    /// <summary>Score only each sequence's last prediction (a task with one answer per input); default false: every position.</summary>
    public bool LastPositionOnly { get; init; }

    /// <summary>Also measure zero and mean ablation (two more forward passes per batch, one more pass for the mean). Default true.</summary>
    public bool Ablations { get; init; } = true;

    /// <summary>Sequences per forward pass, sorted by length first (less padding). Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Checks every field; returns this.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it.</exception>
    public SplicedEvaluationOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Hook)) throw new SaeSharpException("is empty; name the hook point to splice at", field: "hook");
        if (UntouchedPositions < 0) throw new SaeSharpException($"is {UntouchedPositions}; must be at least 0", field: "untouched_positions");
        if (BatchSize < 1) throw new SaeSharpException($"is {BatchSize}; must be at least 1", field: "batch_size");
        return this;
    }
}
