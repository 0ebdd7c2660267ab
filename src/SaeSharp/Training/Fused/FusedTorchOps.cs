using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Training.Fused;

/// <summary>
/// The fused step's math as libtorch operations (gather, index_add_, elementwise Adam), for tensors
/// our CPU kernels cannot reach (CUDA). Same formulas as <see cref="SparseKernels"/>: one dense product
/// forward, gradients only on the selected (row, latent) pairs, no dense d×m product in the backward.
/// </summary>
internal static class FusedTorchOps
{
    public static StepResult Step(FusedTopKTrainingStep owner, Tensor xInput, StepSettings settings)
    {
        var (wEncLD, bEncL, wDecLD, bDecD) = owner.Parameters;
        var options = owner.Options;
        var timings = owner.Timings;
        timings?.Start();
        var device = wEncLD.device;
        long rows = xInput.shape[0], latents = wEncLD.shape[0];
        using var scope = NewDisposeScope();
        var xBD = xInput.to(device);
        var xcBD = options.CentreInput ? xBD - bDecD : xBD;
        Lap(0);
        var preBL = addmm(bEncL, xcBD, wEncLD.t(), 1, 1);
        Lap(1);

        Tensor rowP, latentP, valueP;
        if (options.Selection == TopKSelection.TopK)
        {
            var (valuesBK, latentsBK) = preBL.topk(options.K, dim: 1);
            rowP = arange(rows, device: device).repeat_interleave(options.K);
            latentP = latentsBK.flatten(); valueP = valuesBK.flatten();
        }
        else
        {
            var (values, flat) = preBL.relu().flatten().topk(checked((int)(rows * options.K)));
            rowP = flat.div(latents, rounding_mode: RoundingMode.floor); latentP = flat.remainder(latents); valueP = values;
        }
        var actP = valueP.relu();
        Lap(2);

        using var deadMaskL = settings.DeadMaskL.to(device).to_type(ScalarType.Bool);
        long deadCount = deadMaskL.sum().to(DeviceType.CPU).item<long>();
        int auxK = settings.AuxKCoefficient == 0 ? 0 : (int)Math.Min(settings.AuxKLatents, deadCount);
        Tensor? auxRowP = null, auxLatentP = null, auxActP = null;
        if (auxK > 0)
        {
            var masked = preBL.masked_fill(deadMaskL.logical_not().unsqueeze(0), double.NegativeInfinity);
            var (auxValues, auxLatents) = masked.topk(auxK, dim: 1);
            auxRowP = arange(rows, device: device).repeat_interleave(auxK);
            auxLatentP = auxLatents.flatten(); auxActP = auxValues.flatten().relu();
        }
        Lap(3);

        var wDecPD = wDecLD.index_select(0, latentP);
        var reconBD = zeros_like(xBD).index_add_(0, rowP, wDecPD * actP.unsqueeze(1), 1) + bDecD;
        var errBD = reconBD - xBD;
        var sqErrSum = errBD.pow(HeldScalars.Two).sum();
        var gradBD = errBD * (2.0 / rows);
        Tensor gradRowsPD = gradBD.index_select(0, rowP), actAll = actP, latentAll = latentP, inputRowAll = rowP, wDecAllPD = wDecPD;
        Tensor auxErrSum = zeros([], xBD.dtype, device);
        if (auxK > 0)
        {
            var auxWDecPD = wDecLD.index_select(0, auxLatentP!);
            var eHatBD = zeros_like(xBD).index_add_(0, auxRowP!, auxWDecPD * auxActP!.unsqueeze(1), 1);
            var residualBD = eHatBD + errBD;
            auxErrSum = residualBD.pow(HeldScalars.Two).sum();
            var auxGradBD = residualBD * (2.0 * settings.AuxKCoefficient / rows);
            gradRowsPD = cat([gradRowsPD, auxGradBD.index_select(0, auxRowP!)]);
            actAll = cat([actP, auxActP!]); latentAll = cat([latentP, auxLatentP!]); inputRowAll = cat([rowP, auxRowP!]);
            wDecAllPD = cat([wDecPD, auxWDecPD]);
        }
        Lap(4);

        var gPreP = (gradRowsPD * wDecAllPD).sum(1) * actAll.gt(0).to_type(xBD.dtype);
        var gWDec = zeros_like(wDecLD).index_add_(0, latentAll, gradRowsPD * actAll.unsqueeze(1), 1);
        var gWEnc = zeros_like(wEncLD).index_add_(0, latentAll, xcBD.index_select(0, inputRowAll) * gPreP.unsqueeze(1), 1);
        var gBEnc = zeros_like(bEncL).index_add_(0, latentAll, gPreP, 1);
        var gBDec = options.CentreInput ? gradBD.sum(dim: 0) - gBEnc.matmul(wEncLD) : gradBD.sum(dim: 0);
        if (options.UnitNormDecoder)
            gWDec.sub_((gWDec * wDecLD).sum(1, keepdim: true) * wDecLD);
        Lap(5);

        double bc1 = 1 - Math.Pow(options.Beta1, owner.CurrentStep), bc2 = 1 - Math.Pow(options.Beta2, owner.CurrentStep);
        var moments = owner.Moments;
        Tensor[] parameters = [wEncLD, bEncL, wDecLD, bDecD], grads = [gWEnc, gBEnc, gWDec, gBDec];
        for (int i = 0; i < 4; i++)
        {
            var (m, v) = moments[i];
            m.mul_(options.Beta1).add_(grads[i], alpha: 1 - options.Beta1);
            v.mul_(options.Beta2).addcmul_(grads[i], grads[i], value: 1 - options.Beta2);
            var denom = v.div(bc2).sqrt_().add_(options.Epsilon, HeldScalars.One);
            parameters[i].addcdiv_(m, denom, value: -settings.LearningRate / bc1);
        }
        if (options.UnitNormDecoder)
        {
            wDecLD.div_(wDecLD.norm(1, keepdim: true).clamp_min(1e-12));
        }
        Lap(6);

        var firedL = zeros(latents, ScalarType.Float32, device).index_add_(0, latentP, actP.gt(0).to_type(ScalarType.Float32), 1);
        double sq = Host(sqErrSum), auxSq = Host(auxErrSum);
        double l0 = actP.gt(0).sum().to(DeviceType.CPU).item<long>() / (double)rows;
        double? minSelected = null;
        if (options.Selection == TopKSelection.BatchTopK)
        {
            var positive = actP.masked_select(actP.gt(0));
            minSelected = positive.numel() == 0 ? null : Host(positive.min());
        }
        double recon = sq / rows, auxLoss = auxSq / rows;
        var result = FusedTopKTrainingStep.Metrics(xBD, recon + settings.AuxKCoefficient * auxLoss, recon, 0, auxLoss, sq, l0, firedL, minSelected);
        result.Loss.MoveToOuterDisposeScope(); result.ReconLoss.MoveToOuterDisposeScope(); result.SparsityLoss.MoveToOuterDisposeScope();
        result.AuxKLoss.MoveToOuterDisposeScope(); result.SquaredErrorSum.MoveToOuterDisposeScope(); result.VarianceSum.MoveToOuterDisposeScope();
        result.L0.MoveToOuterDisposeScope(); result.FiredCountsL.MoveToOuterDisposeScope(); result.MinSelectedActivation?.MoveToOuterDisposeScope();
        Lap(8);
        if (timings is not null) timings.Steps++;
        return result;

        static double Host(Tensor t) => t.to(DeviceType.CPU).to_type(ScalarType.Float64).item<double>();

        void Lap(int part)
        {
            if (timings is null) return;
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            timings.Lap(part);
        }
    }
}
