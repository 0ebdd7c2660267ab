namespace SaeSharp;

/// <summary>The shape and architecture of an SAE.</summary>
/// <param name="InputDim">Width D of the activations it reads, ≥ 1.</param>
/// <param name="LatentCount">Dictionary size L, ≥ 1.</param>
/// <param name="Architecture">Sparsity mechanism.</param>
public sealed record SaeConfig(int InputDim, int LatentCount, SaeArchitecture Architecture)
{
    /// <summary>
    /// Whether the encoder centres its input by subtracting b_dec (SAELens' <c>apply_b_dec_to_input</c>);
    /// true for everything trained here, false only for some SAEs loaded from elsewhere.
    /// </summary>
    public bool ApplyDecoderBiasToInput { get; init; } = true;

    /// <summary>Checks every field; call before building an SAE from untrusted settings.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it.</exception>
    public SaeConfig Validate()
    {
        if (InputDim < 1)
            throw new SaeSharpException($"d_in = {InputDim} must be at least 1", field: "d_in");
        if (LatentCount < 1)
            throw new SaeSharpException($"d_sae = {LatentCount} must be at least 1", field: "d_sae");
        if (Architecture is null)
            throw new SaeSharpException("an architecture is required", field: "architecture");
        Architecture.Validate(LatentCount);
        return this;
    }
}
