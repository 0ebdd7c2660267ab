namespace SaeSharp;

/// <summary>
/// JumpReLU SAE (Rajamanoharan et al. 2024): z = pre · H(pre − θ) with a learned per-latent threshold θ,
/// trained with an L0 penalty; the threshold gets straight-through gradients through a rectangle kernel
/// of width <see cref="Bandwidth"/>.
/// </summary>
/// <param name="Bandwidth">Kernel width ε of the straight-through estimator, &gt; 0.</param>
/// <param name="InitialThreshold">Starting θ for every latent, &gt; 0.</param>
public sealed record JumpReluArchitecture(double Bandwidth = 0.001, double InitialThreshold = 0.001) : SaeArchitecture
{
    /// <inheritdoc />
    public override bool UnitNormDecoder => false;

    /// <inheritdoc />
    public override bool IsTopKFamily => false;

    /// <inheritdoc />
    public override void Validate(int latentCount)
    {
        if (!(Bandwidth > 0) || double.IsInfinity(Bandwidth))
            throw new SaeSharpException($"bandwidth = {Bandwidth} must be a positive finite number", field: "bandwidth");
        if (!(InitialThreshold > 0) || double.IsInfinity(InitialThreshold))
            throw new SaeSharpException($"initial_threshold = {InitialThreshold} must be a positive finite number", field: "initial_threshold");
    }
}
