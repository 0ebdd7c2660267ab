using SaeSharp.Training;
using SaeSharp.Training.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>
/// The project's reference step (<see cref="AutogradTrainingStep"/>: the SAE's own dense forward, libtorch
/// autograd, <see cref="AdamOptimizer"/>, decoder constraint) on one SAE, beside the fused step on an
/// identical copy: the pair every fused-vs-autograd test drives.
/// </summary>
internal sealed class FusedAndAutograd : IDisposable
{
    public readonly Sae ReferenceSae, FusedSae;
    public readonly AutogradTrainingStep Autograd;
    public readonly FusedTopKTrainingStep Fused;

    public FusedAndAutograd(FusedStepFixture fixture, bool batchTopK, int k, FusedBackend backend)
    {
        ReferenceSae = fixture.CreateSae(batchTopK, k);
        FusedSae = fixture.CreateSae(batchTopK, k);
        Autograd = new AutogradTrainingStep(ReferenceSae);
        Fused = new FusedTopKTrainingStep(FusedSae, backend);
    }

    /// <summary>Autograd's loss terms and gradients (W_dec's projected as the constraint does), without stepping.</summary>
    public (double Loss, double Recon, double Aux, Tensor[] Grads) ReferenceGradients(Tensor xBD, StepSettings settings)
    {
        foreach (var (_, p) in ReferenceSae.TrainableParameters) p.grad?.zero_();
        var (output, aux, loss) = Autograd.Loss(xBD, settings);
        loss.backward();
        var wDec = ReferenceSae.DecoderWeightLD;
        using (no_grad())
        {
            var g = wDec.grad!;
            g.sub_((g * wDec).sum(1, keepdim: true) * wDec);
        }
        return (Value(loss), Value(output.ReconLoss), Value(aux),
            [ReferenceSae.EncoderWeightLD.grad!.clone(), ReferenceSae.EncoderBiasL.grad!.clone(), wDec.grad!.clone(), ReferenceSae.DecoderBiasD.grad!.clone()]);
    }

    static double Value(Tensor t) => t.to_type(ScalarType.Float64).item<double>();

    public void Dispose()
    {
        Autograd.Dispose(); Fused.Dispose(); ReferenceSae.Dispose(); FusedSae.Dispose();
    }
}
