namespace SaeSharp.Analysis;

/// <summary>How <see cref="LobeGeometry"/> blocks the rows and clusters the latents. Immutable; change with <c>with</c>.</summary>
public sealed record LobeOptions
{
    /// <summary>Consecutive rows per block (default 256, the paper's); a latent co-occurs with another when both fire somewhere in a block.</summary>
    public int BlockSize { get; init; } = 256;

    /// <summary>Clusters of each spectral clustering (default 10).</summary>
    public int Clusters { get; init; } = 10;

    /// <summary>
    /// At most this many latents are clustered, the ones that fire in the most blocks (default 1000): the affinities
    /// are dense <c>[L, L]</c> matrices and each needs an eigendecomposition.
    /// </summary>
    public int MaxLatents { get; init; } = 1000;

    /// <summary>Shuffles of the co-occurrence clusters against the geometric ones for the null AMI (default 100).</summary>
    public int NullPermutations { get; init; } = 100;

    /// <summary>Seed of k-means and of the shuffles (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public LobeOptions Validate()
    {
        if (BlockSize < 1) throw new SaeSharpException($"block size {BlockSize} must be at least 1", field: "block_size");
        if (Clusters < 2) throw new SaeSharpException($"clusters {Clusters} must be at least 2", field: "clusters");
        if (MaxLatents < Clusters) throw new SaeSharpException($"max latents {MaxLatents} must be at least the {Clusters} clusters", field: "max_latents");
        if (NullPermutations < 1) throw new SaeSharpException($"null permutations {NullPermutations} must be at least 1", field: "null_permutations");
        return this;
    }
}
