namespace SaeSharp.Analysis;

/// <summary>The protocol of <see cref="SparseProbing"/>. Immutable; change with <c>with</c>.</summary>
public sealed record SparseProbingOptions
{
    /// <summary>Latent counts k of the sparse probes (default 1, 2, 4, 8, 16).</summary>
    public IReadOnlyList<int> KValues { get; init; } = [1, 2, 4, 8, 16];

    /// <summary>Share of each class held out for the test AUROC (default 0.2).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>
    /// Inverse L2 strengths C tried by cross-validation on the training split (default 10⁻³ … 10² by decades); the
    /// objective is mean log loss + ‖w‖² / (2·C·n), scikit-learn's convention divided by n.
    /// </summary>
    public IReadOnlyList<double> InverseRegularization { get; init; } = [1e-3, 1e-2, 1e-1, 1, 10, 100];

    /// <summary>
    /// Training rows per label after class balancing, at most (default 1,024: the largest training set of the paper's
    /// data-scarcity regime; a token-level store has far more rows than a probe needs, and each fit costs time linear
    /// in them). At least 2.
    /// </summary>
    public int MaxTrainRows { get; init; } = 1024;

    /// <summary>Seed of the splits and of the class-balancing subsample (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>
    /// L-BFGS iteration limit per fit (default 500). A fit that reaches it keeps its lowest-objective iterate and is
    /// counted in <see cref="LabelProbeResult.FitsAtIterationLimit"/>.
    /// </summary>
    public int MaxIterations { get; init; } = 500;

    /// <summary>Factor applied to rows before the SAE (1 for saved SAEs).</summary>
    public double ActivationScale { get; init; } = 1.0;

    /// <summary>Rows encoded at a time (default 4096).</summary>
    public int BatchSize { get; init; } = 4096;

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public SparseProbingOptions Validate()
    {
        if (KValues is null || KValues.Count == 0 || KValues.Any(k => k < 1) || KValues.Distinct().Count() != KValues.Count)
            throw new SaeSharpException($"k values [{string.Join(", ", KValues ?? [])}] must be distinct and at least 1", field: "k");
        if (!(TestFraction > 0 && TestFraction < 1))
            throw new SaeSharpException($"test_fraction = {TestFraction} must be in (0, 1)", field: "test_fraction");
        if (InverseRegularization is null || InverseRegularization.Count == 0 || InverseRegularization.Any(c => !(c > 0 && double.IsFinite(c))))
            throw new SaeSharpException("inverse regularisation strengths must be finite, positive and at least one", field: "inverse_regularization");
        if (MaxTrainRows < 2) throw new SaeSharpException($"max_train_rows = {MaxTrainRows} must be at least 2", field: "max_train_rows");
        if (MaxIterations < 1) throw new SaeSharpException($"max_iterations = {MaxIterations} must be at least 1", field: "max_iterations");
        if (!(ActivationScale > 0 && double.IsFinite(ActivationScale)))
            throw new SaeSharpException($"activation scale {ActivationScale} must be finite and positive", field: "activation_scale");
        if (BatchSize < 1) throw new SaeSharpException($"batch size {BatchSize} must be at least 1", field: "batch_size");
        return this;
    }
}
