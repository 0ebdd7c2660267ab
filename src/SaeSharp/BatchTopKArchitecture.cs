namespace SaeSharp;

/// <summary>
/// BatchTopK SAE: in training keep the B·K largest activations of the whole batch; at inference a
/// JumpReLU with the threshold estimated during training (a running average of the smallest selected
/// activation). Saved for SAELens as <c>jumprelu</c> with that threshold.
/// </summary>
/// <param name="K">Mean active latents per row, 1 ≤ K ≤ latent count.</param>
/// <param name="ThresholdDecay">Running-average decay of the threshold estimate, in [0, 1).</param>
public sealed record BatchTopKArchitecture(int K, double ThresholdDecay = 0.999) : SaeArchitecture
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
        if (!(ThresholdDecay >= 0 && ThresholdDecay < 1))
            throw new SaeSharpException($"threshold_decay = {ThresholdDecay} must lie in [0, 1)", field: "threshold_decay");
    }
}
