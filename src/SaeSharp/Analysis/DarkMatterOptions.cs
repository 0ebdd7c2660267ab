namespace SaeSharp.Analysis;

/// <summary>How <see cref="DarkMatter"/> splits and reads the rows. Immutable; change with <c>with</c>.</summary>
public sealed record DarkMatterOptions
{
    /// <summary>
    /// Share of the rows, taken from the start, on which the linear maps are fitted; the rest score them
    /// (default 0.5). Rows should arrive in random order (a store source shuffles, synthetic rows are independent).
    /// </summary>
    public double FitFraction { get; init; } = 0.5;

    /// <summary>Factor applied to rows before the SAE (1 for saved SAEs, whose weights act on raw activations).</summary>
    public double ActivationScale { get; init; } = 1.0;

    /// <summary>Rows passed through the SAE at a time (default 4096).</summary>
    public int BatchSize { get; init; } = 4096;

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public DarkMatterOptions Validate()
    {
        if (!(FitFraction > 0 && FitFraction < 1))
            throw new SaeSharpException($"fit_fraction = {FitFraction} must be in (0, 1)", field: "fit_fraction");
        if (!(ActivationScale > 0 && double.IsFinite(ActivationScale)))
            throw new SaeSharpException($"activation scale {ActivationScale} must be finite and positive", field: "activation_scale");
        if (BatchSize < 1) throw new SaeSharpException($"batch size {BatchSize} must be at least 1", field: "batch_size");
        return this;
    }
}
