namespace SaeSharp;

/// <summary>TopK SAE: keep the K largest pre-activations of each row (then ReLU); decoder rows unit-norm.</summary>
/// <param name="K">Active latents per row, 1 ≤ K ≤ latent count.</param>
public sealed record TopKArchitecture(int K) : SaeArchitecture
{
    /// <inheritdoc />
    public override bool UnitNormDecoder => true;

    /// <inheritdoc />
    public override bool IsTopKFamily => true;

    /// <inheritdoc />
    public override void Validate(int latentCount)
    {
        if (K < 1 || K > latentCount)
            throw new SaeSharpException($"k = {K} must be between 1 and the latent count {latentCount}", field: "k");
    }
}
