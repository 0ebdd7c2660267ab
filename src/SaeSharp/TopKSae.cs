using static TorchSharp.torch;

namespace SaeSharp;

/// <summary>TopK SAE: z = ReLU of the K largest pre-activations of each row, zero elsewhere.</summary>
public sealed class TopKSae : Sae
{
    internal TopKSae(SaeConfig config, TopKArchitecture architecture) : base(config, nameof(TopKSae))
    {
        K = architecture.K;
    }

    /// <summary>Active latents per row.</summary>
    public int K { get; }

    private protected override Tensor Activate(Tensor preActsBL, bool training)
    {
        var (valuesBK, indicesBK) = preActsBL.topk(K, dim: 1);
        using (indicesBK)
        using (valuesBK)
        using (var reluBK = valuesBK.relu())
        {
            return zeros_like(preActsBL).scatter(1, indicesBK, reluBK);
        }
    }
}
