namespace SaeSharp.Analysis;

/// <summary>How <see cref="CrystalGeometry"/> fits and scores the relation clusters. Immutable; change with <c>with</c>.</summary>
public sealed record CrystalOptions
{
    /// <summary>
    /// Shrinkage γ of the within-relation scatter towards a multiple of the identity, (1 − γ)·S_w + γ·tr(S_w)/D·I
    /// (default 0.1): with fewer pairs than dimensions S_w is singular and plain LDA would separate any labelling.
    /// </summary>
    public double Shrinkage { get; init; } = 0.1;

    /// <summary>Shuffles of the relation labels for the null silhouettes (default 100).</summary>
    public int NullPermutations { get; init; } = 100;

    /// <summary>Seed of the shuffles (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public CrystalOptions Validate()
    {
        if (!(Shrinkage > 0 && Shrinkage <= 1)) throw new SaeSharpException($"shrinkage {Shrinkage} must be in (0, 1]", field: "shrinkage");
        if (NullPermutations < 1) throw new SaeSharpException($"null permutations {NullPermutations} must be at least 1", field: "null_permutations");
        return this;
    }
}
