using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp;

/// <summary>
/// BatchTopK SAE: in training the B·K largest ReLU activations of the whole batch survive; at inference
/// a latent fires when its pre-activation exceeds the threshold estimated during training.
/// </summary>
public sealed class BatchTopKSae : Sae
{
    internal BatchTopKSae(SaeConfig config, BatchTopKArchitecture architecture) : base(config, nameof(BatchTopKSae))
    {
        K = architecture.K;
        register_buffer("threshold", zeros(config.LatentCount));
    }

    /// <summary>Mean active latents per row.</summary>
    public int K { get; }

    /// <summary>Inference threshold per latent <c>[L]</c> (one shared value, as estimated in training).</summary>
    public Tensor ThresholdL => get_buffer("threshold")!;

    private protected override Tensor Activate(Tensor preActsBL, bool training)
    {
        using var scope = NewDisposeScope();
        var actsBL = preActsBL.relu();
        if (!training)
            return actsBL.mul(preActsBL.gt(ThresholdL)).MoveToOuterDisposeScope();
        var flat = actsBL.flatten();
        long keep = Math.Min((long)K * preActsBL.shape[0], flat.shape[0]);
        var (_, indices) = flat.topk(checked((int)keep));
        var kept = zeros_like(flat).scatter(0, indices, flat.gather(0, indices));
        return kept.view(preActsBL.shape).MoveToOuterDisposeScope();
    }
}
