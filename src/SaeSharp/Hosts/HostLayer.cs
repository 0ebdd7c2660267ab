using TorchSharp.Modules;

namespace SaeSharp.Hosts;

/// <summary>One block's parameters (views of the model's registered parameters; null where the configuration has none).</summary>
internal sealed class HostLayer(HostAttention attention)
{
    public HostAttention Attention { get; } = attention;
    public Parameter? Ln1Weight, Ln1Bias, QWeight, QBias, KWeight, KBias, VWeight, VBias, OutWeight, OutBias;
    public Parameter? Ln2Weight, Ln2Bias, FcWeight, FcBias, ProjWeight, ProjBias;
}
