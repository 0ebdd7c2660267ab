namespace SaeSharp.Training;

/// <summary>
/// A source with known ground truth: each row is a sparse non-negative combination of a fixed random
/// dictionary of unit vectors, plus Gaussian noise. Each row combines exactly <see cref="ActivePerRow"/>
/// distinct features chosen uniformly at random, each with a coefficient uniform in [0.5, 1.5).
/// </summary>
/// <param name="InputDim">Row width D, ≥ 1.</param>
/// <param name="TrueFeatures">Size of the true dictionary, ≥ 1.</param>
/// <param name="ActivePerRow">Active features per row, in [1, TrueFeatures].</param>
public sealed record SyntheticSourceConfig(int InputDim, int TrueFeatures, int ActivePerRow)
{
    /// <summary>Standard deviation of the noise added to every coordinate (default 0.01).</summary>
    public double Noise { get; init; } = 0.01;

    /// <summary>Seed of the dictionary and of every batch (default 0).</summary>
    public long Seed { get; init; }

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public SyntheticSourceConfig Validate()
    {
        if (InputDim < 1) throw new SaeSharpException($"d_in = {InputDim} must be at least 1", field: "d_in");
        if (TrueFeatures < 1) throw new SaeSharpException($"true_features = {TrueFeatures} must be at least 1", field: "true_features");
        if (ActivePerRow < 1 || ActivePerRow > TrueFeatures)
            throw new SaeSharpException($"active = {ActivePerRow} must be in [1, {TrueFeatures}]", field: "active");
        if (!(Noise >= 0 && double.IsFinite(Noise))) throw new SaeSharpException($"noise = {Noise} must be 0 or more", field: "noise");
        return this;
    }
}
