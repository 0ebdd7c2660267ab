using SaeSharp.Training;
using SaeSharp.Training.Fused;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>
/// An independent reference for the fused step: the TopK SAE written the obvious dense way, differentiated
/// by libtorch autograd and updated by <c>torch.optim.Adam</c>, with the decoder constraint applied around it.
/// </summary>
internal sealed class AutogradReference : IDisposable
{
    public readonly Parameter WEncLD, BEncL, WDecLD, BDecD;
    readonly optim.Optimizer optimizer;
    readonly FusedTopKOptions options;

    public AutogradReference(Tensor wEncLD, Tensor bEncL, Tensor wDecLD, Tensor bDecD, FusedTopKOptions options, double learningRate)
    {
        WEncLD = new Parameter(wEncLD.clone()); BEncL = new Parameter(bEncL.clone());
        WDecLD = new Parameter(wDecLD.clone()); BDecD = new Parameter(bDecD.clone());
        this.options = options;
        optimizer = optim.Adam([WEncLD, BEncL, WDecLD, BDecD], learningRate, options.Beta1, options.Beta2, options.Epsilon);
    }

    /// <summary>Loss and gradients (W_dec's already projected when the decoder is unit-norm), without stepping.</summary>
    public (double Loss, double Recon, double Aux, Tensor[] Grads) Backward(Tensor xBD, StepSettings settings)
    {
        optimizer.zero_grad();
        long rows = xBD.shape[0], latents = WEncLD.shape[0];
        var xcBD = xBD - BDecD;
        var preBL = xcBD.matmul(WEncLD.t()) + BEncL;
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
        var reconBD = actsBL.matmul(WDecLD) + BDecD;
        var recon = (reconBD - xBD).square().sum(1).mean();
        var loss = recon;
        var aux = zeros([], xBD.dtype);
        var dead = settings.DeadMaskL.to_type(ScalarType.Bool);
        int auxK = (int)Math.Min(settings.AuxKLatents, dead.sum().to_type(ScalarType.Int64).item<long>());
        if (auxK > 0)
        {
            var residualBD = (xBD - reconBD).detach();
            var masked = where(dead.unsqueeze(0), preBL.relu(), tensor(double.NegativeInfinity, xBD.dtype));
            var (auxValues, auxIndices) = masked.topk(auxK, dim: 1);
            var auxActsBL = zeros_like(preBL).scatter(1, auxIndices, auxValues);
            aux = (auxActsBL.matmul(WDecLD) - residualBD).square().sum(1).mean();
            loss = loss + settings.AuxKCoefficient * aux;
        }
        loss.backward();
        if (options.UnitNormDecoder)
            using (no_grad())
            {
                var g = WDecLD.grad!;
                g.sub_((g * WDecLD).sum(1, keepdim: true) / WDecLD.square().sum(1, keepdim: true) * WDecLD);
            }
        return (Value(loss), Value(recon), Value(aux),
            [WEncLD.grad!.clone(), BEncL.grad!.clone(), WDecLD.grad!.clone(), BDecD.grad!.clone()]);
    }

    static double Value(Tensor t) => t.to_type(ScalarType.Float64).item<double>();

    public (double Loss, double Recon, double Aux) Step(Tensor xBD, StepSettings settings)
    {
        var (loss, recon, aux, grads) = Backward(xBD, settings);
        foreach (var g in grads) g.Dispose();
        foreach (var group in optimizer.ParamGroups) group.LearningRate = settings.LearningRate;
        optimizer.step();
        if (options.UnitNormDecoder)
            using (no_grad()) WDecLD.div_(WDecLD.norm(1, keepdim: true));
        return (loss, recon, aux);
    }

    public void Dispose()
    {
        WEncLD.Dispose(); BEncL.Dispose(); WDecLD.Dispose(); BDecD.Dispose();
    }
}
