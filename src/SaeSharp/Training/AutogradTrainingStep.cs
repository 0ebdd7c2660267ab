using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// The reference training step: the loss of <see cref="ITrainingStep"/> built from the SAE's own forward,
/// differentiated by libtorch's autograd, then <see cref="AdamOptimizer"/> and the decoder constraint.
/// Works for every architecture.
/// </summary>
public sealed class AutogradTrainingStep : ITrainingStep
{
    private readonly Sae _sae;
    private readonly AdamOptimizer _adam;

    /// <summary>Trains <paramref name="sae"/>'s own parameters in place.</summary>
    public AutogradTrainingStep(Sae sae)
    {
        _sae = sae;
        _adam = new AdamOptimizer(sae.TrainableParameters);
    }

    /// <inheritdoc />
    public StepResult Step(Tensor xBD, StepSettings settings)
    {
        using var scope = NewDisposeScope();
        _sae.train();
        foreach (var (_, parameter) in _sae.TrainableParameters)
            parameter.grad?.zero_();

        var (output, auxK, loss) = Loss(xBD, settings);
        loss.backward();

        if (_sae.Config.Architecture.UnitNormDecoder)
            RemoveParallelDecoderGradient();
        _adam.Step(settings.LearningRate);
        if (_sae.Config.Architecture.UnitNormDecoder)
            _sae.NormalizeDecoderRowsInPlace();

        using var noGrad = no_grad();
        var errorBD = output.ReconBD.detach().sub(xBD);
        var centredBD = xBD.sub(xBD.mean([0], keepdim: true));
        var activeBL = output.LatentsBL.detach().ne(HeldScalars.Zero);
        var firedL = activeBL.sum([0]).to(ScalarType.Float32);
        Tensor? minSelected = null;
        if (_sae.Config.Architecture is BatchTopKArchitecture)
        {
            var selected = output.LatentsBL.detach().masked_select(activeBL);
            if (selected.numel() > 0) minSelected = selected.min();
        }
        var result = new StepResult(
            loss.detach(), output.ReconLoss.detach(), output.SparsityLoss.detach(), auxK.detach(),
            errorBD.pow(HeldScalars.Two).sum(), centredBD.pow(HeldScalars.Two).sum(), activeBL.sum(1).to(ScalarType.Float32).mean(),
            firedL, minSelected);
        foreach (var t in new[] { result.Loss, result.ReconLoss, result.SparsityLoss, result.AuxKLoss, result.SquaredErrorSum, result.VarianceSum, result.L0, result.FiredCountsL })
            t.MoveToOuterDisposeScope();
        result.MinSelectedActivation?.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>The step's loss with its graph: forward, AuxK term, and the weighted total.</summary>
    internal (SaeOutput Output, Tensor AuxK, Tensor Loss) Loss(Tensor xBD, StepSettings settings)
    {
        var output = _sae.forward(xBD);
        using var residualBD = xBD.sub(output.ReconBD).detach();
        var auxK = AuxKLoss(output.PreActsBL, residualBD, settings);
        using var sparsityCoefficient = settings.SparsityCoefficient.ToScalar();
        using var auxKCoefficient = settings.AuxKCoefficient.ToScalar();
        var loss = output.ReconLoss
            .add(output.SparsityLoss.mul(sparsityCoefficient), HeldScalars.One)
            .add(auxK.mul(auxKCoefficient), HeldScalars.One);
        return (output, auxK, loss);
    }

    /// <summary>
    /// AuxK: decode the top <c>AuxKLatents</c> pre-activations among dead latents (without b_dec) and
    /// fit the main reconstruction's residual (a constant target) with it. Zero when nothing is dead or
    /// the architecture is not of the TopK family.
    /// </summary>
    internal Tensor AuxKLoss(Tensor preActsBL, Tensor residualBD, StepSettings settings)
    {
        var zero = zeros(1, dtype: preActsBL.dtype).squeeze();
        if (!_sae.Config.Architecture.IsTopKFamily || settings.AuxKCoefficient == 0)
            return zero;
        long deadCount = settings.DeadMaskL.sum().item<long>();
        if (deadCount == 0)
            return zero;
        int auxK = (int)Math.Min(settings.AuxKLatents, deadCount);
        var deadPreActsBL = preActsBL.masked_fill(settings.DeadMaskL.logical_not(), HeldScalars.NegativeInfinity);
        var (valuesBK, indicesBK) = deadPreActsBL.topk(auxK, dim: 1);
        var auxLatentsBL = zeros_like(preActsBL).scatter(1, indicesBK, valuesBK.relu());
        var auxReconBD = auxLatentsBL.matmul(_sae.DecoderWeightLD);
        using var rows = preActsBL.shape[0].ToScalar();
        return auxReconBD.sub(residualBD).pow(HeldScalars.Two).sum().div(rows);
    }

    /// <summary>Removes from each decoder row's gradient its component along the (unit) row.</summary>
    private void RemoveParallelDecoderGradient()
    {
        var decoderLD = _sae.DecoderWeightLD;
        var grad = decoderLD.grad;
        if (grad is null) return;
        using var noGrad = no_grad();
        using var parallelL1 = grad.mul(decoderLD).sum(1, keepdim: true);
        grad.sub_(parallelL1.mul(decoderLD));
    }

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState() => _adam.State();

    /// <inheritdoc />
    public void LoadOptimizerState(IReadOnlyDictionary<string, Tensor> state) => _adam.Load(state);

    /// <inheritdoc />
    public void Dispose() => _adam.Dispose();
}
