using SaeSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training;

/// <summary>Each architecture's loss gradient, from autograd, against central finite differences in float64.</summary>
[Collection("Torch")]
public sealed class GradientTests
{
    [Theory]
    [MemberData(nameof(TestArchitectures.Names), MemberType = typeof(TestArchitectures))]
    public void AutogradLoss_Gradients_MatchFiniteDifferences(string architecture)
    {
        using var sae = Sae.Create(new SaeConfig(4, 6, TestArchitectures.Create(architecture, k: 2)), seed: 11);
        sae.to(ScalarType.Float64);
        using (no_grad())
        {
            // Non-trivial biases so every term is exercised.
            sae.DecoderBiasD.copy_(randn(4, dtype: ScalarType.Float64, generator: new Generator(12)).mul(0.1));
            sae.EncoderBiasL.copy_(randn(6, dtype: ScalarType.Float64, generator: new Generator(13)).mul(0.1));
        }
        using var x = randn(5, 4, dtype: ScalarType.Float64, generator: new Generator(14));
        // AuxK's target is held constant (stop-gradient), which finite differences of the whole loss cannot
        // express; it is checked on its own below.
        using var dead = tensor(new[] { false, true, false, false, true, false });
        var settings = new StepSettings(1e-3, SparsityCoefficient: 0.7, dead, AuxKCoefficient: 0, AuxKLatents: 2);
        using var step = new AutogradTrainingStep(sae);

        var (_, _, loss) = step.Loss(x, settings);
        loss.backward();
        foreach (var (name, parameter) in sae.TrainableParameters)
        {
            if (name == "log_threshold") continue; // straight-through; checked against its formula below
            var analytic = parameter.grad!.clone();
            var numeric = FiniteDifference(parameter, () => step.Loss(x, settings).Loss.item<double>());
            double scale = Math.Max(1.0, numeric.abs().max().item<double>());
            double error = analytic.sub(numeric).abs().max().item<double>() / scale;
            Assert.True(error < 1e-6, $"{architecture} {name}: max relative error {error:E2}");
        }
    }

    [Theory]
    [InlineData("topk")]
    [InlineData("batchtopk")]
    public void AuxKLoss_GradientsWithResidualHeld_MatchFiniteDifferences(string architecture)
    {
        using var sae = Sae.Create(new SaeConfig(4, 6, TestArchitectures.Create(architecture, k: 2)), seed: 15);
        sae.to(ScalarType.Float64);
        using var x = randn(5, 4, dtype: ScalarType.Float64, generator: new Generator(16));
        using var residual = randn(5, 4, dtype: ScalarType.Float64, generator: new Generator(17));
        using var dead = tensor(new[] { false, true, false, true, true, false });
        var settings = new StepSettings(1e-3, 0, dead, AuxKCoefficient: 1, AuxKLatents: 2);
        using var step = new AutogradTrainingStep(sae);

        var auxK = step.AuxKLoss(sae.PreActivations(x), residual, settings);
        Assert.True(auxK.item<double>() > 0);
        auxK.backward();
        foreach (var (name, parameter) in sae.TrainableParameters)
        {
            var analytic = parameter.grad!.clone();
            var numeric = FiniteDifference(parameter, () => step.AuxKLoss(sae.PreActivations(x), residual, settings).item<double>());
            double scale = Math.Max(1.0, numeric.abs().max().item<double>());
            double error = analytic.sub(numeric).abs().max().item<double>() / scale;
            Assert.True(error < 1e-6, $"{architecture} {name}: max relative error {error:E2}");
        }
    }

    [Fact]
    public void JumpReluLoss_ThresholdGradient_MatchesStraightThroughFormula()
    {
        const double bandwidth = 0.5, coefficient = 0.7;
        using var sae = (JumpReluSae)Sae.Create(new SaeConfig(4, 6, new JumpReluArchitecture(bandwidth, 0.2)), seed: 21);
        sae.to(ScalarType.Float64);
        using var x = randn(30, 4, dtype: ScalarType.Float64, generator: new Generator(22));
        using var dead = zeros(6, dtype: ScalarType.Bool);
        using var step = new AutogradTrainingStep(sae);
        var (output, _, loss) = step.Loss(x, new StepSettings(1e-3, coefficient, dead, 0, 1));
        loss.backward();

        using var noGrad = no_grad();
        var theta = sae.ThresholdL;
        var pre = output.PreActsBL.detach();
        var kernel = pre.sub(theta).abs().lt(bandwidth / 2).to(ScalarType.Float64);
        // dL/dz · dz/dθ with dz/dθ = −(θ/ε)K, plus λ · dL0/dθ with dL0/dθ = −(1/ε)K, all averaged over rows.
        var reconGradBL = output.ReconBD.detach().sub(x).mul(2.0 / x.shape[0]).matmul(sae.DecoderWeightLD.t());
        var dTheta = reconGradBL.mul(kernel).mul(theta).div(-bandwidth).sum([0])
            .add(kernel.div(-bandwidth).sum([0]).mul(coefficient / x.shape[0]));
        var expected = dTheta.mul(theta); // chain rule through θ = exp(log θ)
        Assert.True(sae.LogThresholdL.grad!.allclose(expected, rtol: 1e-9, atol: 1e-12), $"autograd {sae.LogThresholdL.grad!.ToString(TorchSharp.TensorStringStyle.Julia)} formula {expected.ToString(TorchSharp.TensorStringStyle.Julia)}");
        Assert.True(kernel.sum().item<double>() > 0, "the test must place some pre-activations inside the kernel");
    }

    private static Tensor FiniteDifference(Tensor parameter, Func<double> loss, double epsilon = 1e-6)
    {
        using var noGrad = no_grad();
        var flat = parameter.view(-1);
        var result = zeros_like(flat);
        for (long i = 0; i < flat.shape[0]; i++)
        {
            double original = flat[i].item<double>();
            flat[i] = original + epsilon;
            double plus = loss();
            flat[i] = original - epsilon;
            double minus = loss();
            flat[i] = original;
            result[i] = (plus - minus) / (2 * epsilon);
        }
        return result.view(parameter.shape);
    }
}
