namespace SaeSharp;

/// <summary>
/// ReLU SAE with the decoder-norm-weighted L1 penalty of Anthropic's April 2024 update:
/// sparsity = Σ_i z_i ‖W_dec,i‖, decoder rows free in norm. SAELens calls it <c>standard</c>.
/// </summary>
public sealed record ReluArchitecture : SaeArchitecture
{
    /// <inheritdoc />
    public override bool UnitNormDecoder => false;

    /// <inheritdoc />
    public override bool IsTopKFamily => false;

    /// <inheritdoc />
    public override void Validate(int latentCount) { }
}
