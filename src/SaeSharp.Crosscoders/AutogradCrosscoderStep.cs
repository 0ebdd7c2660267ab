using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders;

/// <summary>
/// One autograd step of a crosscoder: loss = (1/B) Σ_b Σ_s ‖x̂_b^s − x_b^s‖² + λ · L1 term (L1 rule) or
/// + α · AuxK (BatchTopK rule: the decoding, without b_dec, of each row's top dead-latent pre-activations
/// fitted to the detached residual x − x̂), then the shared Adam update. Decoders stay free (no renormalisation).
/// </summary>
/// <remarks>
/// The reference for every sparsity rule; <see cref="Training.Fused.FusedCrosscoderStep"/> is the sparse twin for BatchTopK
/// on the CPU and is held to this step's gradients by the tests.
/// </remarks>
public sealed class AutogradCrosscoderStep(Crosscoder crosscoder) : ITrainingStep
{
    private readonly AdamOptimizer _adam = new(crosscoder.TrainableParameters);

    /// <inheritdoc />
    public StepResult Step(Tensor xBSD, StepSettings settings)
    {
        using var scope = NewDisposeScope();
        crosscoder.train();
        foreach (var (_, parameter) in crosscoder.TrainableParameters)
            parameter.grad?.zero_();
        var (output, auxK, loss) = Loss(xBSD, settings.SparsityCoefficient, settings.DeadMaskL, settings.AuxKCoefficient, settings.AuxKLatents);
        Tensor? minSelected = null;
        if (crosscoder.Config.Sparsity == CrosscoderSparsity.BatchTopK)
        {
            using var noGrad = no_grad();
            var weightedBL = output.Latents.mul(crosscoder.NormSumL());
            var selected = weightedBL.masked_select(weightedBL.gt(0));
            if (selected.numel() > 0) minSelected = selected.min();
        }
        loss.backward();
        _adam.Step(settings.LearningRate);

        using (no_grad())
        {
            var errorBSD = output.Reconstruction.sub(xBSD);
            var squaredErrorS = errorBSD.pow(HeldScalars.Two).sum([0, 2]).to_type(ScalarType.Float64);
            var varianceS = xBSD.sub(xBSD.mean([0], keepdim: true)).pow(HeldScalars.Two).sum([0, 2]).to_type(ScalarType.Float64);
            var activeBL = output.Latents.gt(0);
            var l0 = activeBL.sum(1).to_type(ScalarType.Float64).mean();
            var firedL = activeBL.sum([0]).to_type(ScalarType.Float32);
            return new StepResult(
                loss.detach().MoveToOuterDisposeScope(), output.ReconLoss.detach().MoveToOuterDisposeScope(), output.SparsityLoss.detach().MoveToOuterDisposeScope(),
                auxK.detach().MoveToOuterDisposeScope(), squaredErrorS.MoveToOuterDisposeScope(), varianceS.MoveToOuterDisposeScope(),
                l0.MoveToOuterDisposeScope(), firedL.MoveToOuterDisposeScope(), minSelected?.MoveToOuterDisposeScope());
        }
    }

    /// <summary>The step's loss with its graph: the forward pass, the AuxK term and the weighted total.</summary>
    internal (CrosscoderOutput Output, Tensor AuxK, Tensor Loss) Loss(Tensor xBSD, double l1Coefficient, Tensor deadMaskL, double auxKCoefficient, int auxKLatents)
    {
        var output = crosscoder.forward(xBSD);
        var loss = output.ReconLoss.add(output.SparsityLoss.mul(l1Coefficient), HeldScalars.One);
        var auxK = zeros(1, dtype: xBSD.dtype).squeeze();
        if (crosscoder.Config.Sparsity != CrosscoderSparsity.BatchTopK || auxKCoefficient == 0)
            return (output, auxK, loss);
        int deadCount = (int)deadMaskL.sum().item<long>();
        if (deadCount == 0)
            return (output, auxK, loss);
        int take = Math.Min(auxKLatents, deadCount);
        long b = xBSD.shape[0];
        var residualBSD = xBSD.sub(output.Reconstruction).detach();
        var deadPreBL = output.PreActivations.masked_fill(deadMaskL.logical_not(), double.NegativeInfinity);
        var (values, indices) = deadPreBL.topk(take, dim: 1);
        var auxLatentsBL = zeros_like(output.PreActivations).scatter(1, indices, values.relu());
        var auxReconBSD = auxLatentsBL.matmul(crosscoder.DecoderWeightLSD.reshape(crosscoder.LatentCount, -1)).view(b, crosscoder.SourceCount, crosscoder.InputDim);
        auxK = auxReconBSD.sub(residualBSD).pow(HeldScalars.Two).sum().div(b);
        return (output, auxK, loss.add(auxK.mul(auxKCoefficient), HeldScalars.One));
    }

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState() => _adam.State();

    /// <inheritdoc />
    public void LoadOptimizerState(IReadOnlyDictionary<string, Tensor> state) => _adam.Load(state);

    /// <inheritdoc />
    public void Dispose() => _adam.Dispose();
}
