using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Tests;

[Collection("Torch")]
public sealed class CrosscoderGradientTests
{
    [Theory]
    [InlineData(CrosscoderSparsity.L1)]
    [InlineData(CrosscoderSparsity.BatchTopK)]
    public void CrosscoderLoss_Gradient_MatchesFiniteDifferences(CrosscoderSparsity sparsity)
    {
        using var scope = NewDisposeScope();
        var config = new CrosscoderConfig { SourceCount = 2, InputDim = 5, LatentCount = 7, Sparsity = sparsity, K = 3, DecoderInitNorm = 0.5 };
        using var crosscoder = Crosscoder.Create(config, seed: 3);
        crosscoder.to(ScalarType.Float64);
        using (no_grad())
        {
            // Positive encoder bias so every latent is active and the L1 term's kinks are far away.
            crosscoder.EncoderBiasL.copy_(linspace(0.3, 0.9, 7, dtype: ScalarType.Float64));
            crosscoder.DecoderBiasSD.copy_(randn(2, 5, dtype: ScalarType.Float64, generator: new Generator(4)).mul(0.1));
        }
        var xBSD = randn(6, 2, 5, dtype: ScalarType.Float64, generator: new Generator(5));
        // AuxK fits a detached residual (a stop-gradient), so the total loss with AuxK is not the function autograd
        // differentiates; the finite-difference check runs without it, and AuxK's own gradient is checked below.
        var deadMaskL = zeros(7, dtype: ScalarType.Bool);
        using var step = new AutogradCrosscoderStep(crosscoder);
        double LossValue()
        {
            using var inner = NewDisposeScope();
            using var noGrad = no_grad();
            return step.Loss(xBSD, 0.7, deadMaskL, 0.5, 2).Loss.item<double>();
        }
        crosscoder.train();
        var (_, _, loss) = step.Loss(xBSD, 0.7, deadMaskL, 0.5, 2);
        loss.backward();

        const double h = 1e-6;
        foreach (var (name, parameter) in crosscoder.TrainableParameters)
        {
            var grad = parameter.grad!.clone().flatten();
            var flat = parameter.detach().view(-1);
            for (long i = 0; i < flat.shape[0]; i += Math.Max(1, flat.shape[0] / 12))
            {
                double original = flat[i].item<double>();
                using (no_grad()) flat[i] = tensor(original + h);
                double plus = LossValue();
                using (no_grad()) flat[i] = tensor(original - h);
                double minus = LossValue();
                using (no_grad()) flat[i] = tensor(original);
                double numeric = (plus - minus) / (2 * h);
                double analytic = grad[i].item<double>();
                Assert.True(Math.Abs(numeric - analytic) <= 1e-5 * Math.Max(1, Math.Abs(numeric)),
                    $"{sparsity} {name}[{i}]: autograd {analytic}, finite difference {numeric}");
            }
        }
    }

    [Fact]
    public void CrosscoderLoss_AuxK_ReachesOnlyDeadLatentsAndFitsTheResidual()
    {
        using var scope = NewDisposeScope();
        var config = new CrosscoderConfig { SourceCount = 2, InputDim = 5, LatentCount = 7, K = 1, DecoderInitNorm = 0.5 };
        using var crosscoder = Crosscoder.Create(config, seed: 3);
        crosscoder.to(ScalarType.Float64);
        using (no_grad()) crosscoder.EncoderBiasL.copy_(linspace(0.3, 0.9, 7, dtype: ScalarType.Float64));
        var xBSD = randn(6, 2, 5, dtype: ScalarType.Float64, generator: new Generator(5));
        var deadMaskL = tensor(new[] { true, true, true, false, false, false, false });
        using var step = new AutogradCrosscoderStep(crosscoder);
        crosscoder.train();
        var (output, auxK, total) = step.Loss(xBSD, 0, deadMaskL, 1.0, 2);
        // AuxK equals the hand computation: the top-2 dead pre-activations of each row, decoded without b_dec, against the residual.
        var residualBSD = xBSD.sub(output.Reconstruction).detach();
        var deadPreBL = output.PreActivations.detach().narrow(1, 0, 3);
        var (values, indices) = deadPreBL.topk(2, dim: 1);
        var codeBL = zeros(6, 7, dtype: ScalarType.Float64).scatter(1, indices, values.relu());
        var expected = codeBL.matmul(crosscoder.DecoderWeightLSD.detach().reshape(7, 10)).view(6, 2, 5).sub(residualBSD).square().sum().div(6);
        Assert.Equal(expected.item<double>(), auxK.item<double>(), 1e-12);
        Assert.True(auxK.item<double>() > 0);
        auxK.backward();
        // Only dead latents' decoder rows receive the AuxK gradient.
        var rowGradL = crosscoder.DecoderWeightLSD.grad!.square().sum([1, 2]);
        Assert.True(rowGradL.narrow(0, 0, 3).gt(0).all().item<bool>());
        Assert.True(rowGradL.narrow(0, 3, 4).eq(0).all().item<bool>());
        _ = total;
    }

    [Theory]
    [InlineData(CrosscoderSparsity.L1)]
    [InlineData(CrosscoderSparsity.BatchTopK)]
    public void Crosscoder_Forward_InEvalMode_EqualsDecodeOfEncode(CrosscoderSparsity sparsity)
    {
        using var scope = NewDisposeScope();
        var config = new CrosscoderConfig { SourceCount = 3, InputDim = 4, LatentCount = 9, Sparsity = sparsity, K = 2 };
        using var crosscoder = Crosscoder.Create(config, seed: 1);
        using (no_grad()) crosscoder.ThresholdL.fill_(0.01);
        crosscoder.eval();
        var xBSD = randn(5, 3, 4, generator: new Generator(2));
        using var output = crosscoder.forward(xBSD);
        var expected = crosscoder.Decode(crosscoder.Encode(xBSD));
        Assert.True(output.Reconstruction.allclose(expected, rtol: 0, atol: 1e-6));
        // Each source's reconstruction is the code through that source's own decoder.
        var manual = output.Latents.matmul(crosscoder.DecoderWeightLSD.select(1, 2)).add(crosscoder.DecoderBiasSD[2]);
        Assert.True(output.Reconstruction.select(1, 2).allclose(manual, rtol: 0, atol: 1e-5));
    }
}
