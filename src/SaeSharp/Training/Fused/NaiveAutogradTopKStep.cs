using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Training.Fused;

/// <summary>
/// The obvious TopK step: dense activations scattered into <c>[B, L]</c>, a dense decoder product,
/// libtorch autograd and <c>torch.optim.Adam</c>. The throughput benchmark's baseline (what an
/// autograd step costs: three or four dense d×m products per token).
/// </summary>
internal sealed class NaiveAutogradTopKStep : IDisposable
{
    readonly Parameter wEncLD, bEncL, wDecLD, bDecD;
    readonly optim.Optimizer optimizer;
    readonly FusedTopKOptions options;

    public NaiveAutogradTopKStep(Tensor wEncLD, Tensor bEncL, Tensor wDecLD, Tensor bDecD, FusedTopKOptions options, double learningRate)
    {
        this.wEncLD = new Parameter(wEncLD); this.bEncL = new Parameter(bEncL);
        this.wDecLD = new Parameter(wDecLD); this.bDecD = new Parameter(bDecD);
        this.options = options;
        optimizer = optim.Adam([this.wEncLD, this.bEncL, this.wDecLD, this.bDecD], learningRate, options.Beta1, options.Beta2, options.Epsilon);
    }

    /// <summary>One step on <paramref name="xBD"/> <c>[B, D]</c>; returns the loss tensor (0-dim).</summary>
    public Tensor Step(Tensor xBD)
    {
        optimizer.zero_grad();
        long rows = xBD.shape[0], latents = wEncLD.shape[0];
        var preBL = (xBD - bDecD).matmul(wEncLD.t()) + bEncL;
        Tensor actsBL;
        if (options.Selection == TopKSelection.TopK)
        {
            var (values, indices) = preBL.topk(options.K, dim: 1);
            actsBL = zeros_like(preBL).scatter(1, indices, values.relu());
        }
        else
        {
            var flat = preBL.relu().flatten();
            var (values, indices) = flat.topk((int)(rows * options.K));
            actsBL = zeros_like(flat).scatter(0, indices, values).view(rows, latents);
        }
        var loss = (actsBL.matmul(wDecLD) + bDecD - xBD).square().sum(1).mean();
        loss.backward();
        using (no_grad())
        {
            if (options.UnitNormDecoder)
            {
                var g = wDecLD.grad!;
                g.sub_((g * wDecLD).sum(1, keepdim: true) * wDecLD);
            }
            optimizer.step();
            if (options.UnitNormDecoder) wDecLD.div_(wDecLD.norm(1, keepdim: true));
        }
        return loss;
    }

    public void Dispose()
    {
        wEncLD.Dispose(); bEncL.Dispose(); wDecLD.Dispose(); bDecD.Dispose();
    }
}
