using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp;

/// <summary>
/// JumpReLU SAE: z = pre · H(pre − θ), θ = exp(log θ) learned per latent, sparsity = mean L0.
/// Gradients reach θ through straight-through estimators with a rectangle kernel of width ε:
/// ∂z/∂θ = −(θ/ε)·K((pre − θ)/ε) and ∂H/∂θ = −(1/ε)·K((pre − θ)/ε), K(u) = 1 for |u| &lt; ½.
/// </summary>
public sealed class JumpReluSae : Sae
{
    private readonly double _initialThreshold;

    internal JumpReluSae(SaeConfig config, JumpReluArchitecture architecture) : base(config, nameof(JumpReluSae))
    {
        Bandwidth = architecture.Bandwidth;
        _initialThreshold = architecture.InitialThreshold;
        register_parameter("log_threshold", new Parameter(full(config.LatentCount, Math.Log(architecture.InitialThreshold))));
    }

    /// <summary>Kernel width ε of the straight-through estimator.</summary>
    public double Bandwidth { get; }

    internal Parameter LogThresholdL => get_parameter("log_threshold")!;

    /// <summary>The thresholds θ <c>[L]</c>.</summary>
    public Tensor ThresholdL => LogThresholdL.exp();

    internal override IReadOnlyList<(string Name, Parameter Parameter)> TrainableParameters =>
        [.. base.TrainableParameters, ("log_threshold", LogThresholdL)];

    private protected override void Initialize(long seed)
    {
        base.Initialize(seed);
        using var noGrad = no_grad();
        LogThresholdL.fill_(Math.Log(_initialThreshold));
    }

    private protected override Tensor Activate(Tensor preActsBL, bool training)
    {
        using var scope = NewDisposeScope();
        var thresholdL = LogThresholdL.exp();
        var (gateBL, kernelBL) = GateAndKernel(preActsBL, thresholdL);
        // Value pre·H; gradient H for pre, −(θ/ε)K for θ (the second term is zero in value).
        using var minusBandwidth = (-Bandwidth).ToScalar();
        var straightThroughBL = kernelBL.mul(thresholdL.detach()).div(minusBandwidth);
        var thetaDeltaL = thresholdL.sub(thresholdL.detach());
        return preActsBL.mul(gateBL).add(straightThroughBL.mul(thetaDeltaL), HeldScalars.One).MoveToOuterDisposeScope();
    }

    private protected override Tensor SparsityLoss(Tensor preActsBL, Tensor latentsBL)
    {
        using var scope = NewDisposeScope();
        var thresholdL = LogThresholdL.exp();
        var (gateBL, kernelBL) = GateAndKernel(preActsBL, thresholdL);
        // Value H; gradient −(1/ε)K for θ, none for pre.
        using var minusBandwidth = (-Bandwidth).ToScalar();
        var straightThroughBL = kernelBL.div(minusBandwidth);
        var l0BL = gateBL.add(straightThroughBL.mul(thresholdL.sub(thresholdL.detach())), HeldScalars.One);
        return l0BL.sum(1).mean().MoveToOuterDisposeScope();
    }

    /// <summary>H(pre − θ) and the rectangle kernel K((pre − θ)/ε), both without gradient.</summary>
    private (Tensor GateBL, Tensor KernelBL) GateAndKernel(Tensor preActsBL, Tensor thresholdL)
    {
        using var noGrad = no_grad();
        var differenceBL = preActsBL.sub(thresholdL);
        using var halfBandwidth = (Bandwidth / 2).ToScalar();
        var gateBL = differenceBL.gt(HeldScalars.Zero).to(preActsBL.dtype);
        var kernelBL = differenceBL.abs().lt(halfBandwidth).to(preActsBL.dtype);
        return (gateBL, kernelBL);
    }
}
