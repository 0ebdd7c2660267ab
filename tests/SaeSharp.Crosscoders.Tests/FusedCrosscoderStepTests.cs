using SaeSharp.Training.Fused;
using SaeSharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using Mode = SaeSharp.Training.Fused.EncoderGradientMode;

namespace SaeSharp.Crosscoders.Tests;

/// <summary>The fused sparse BatchTopK step against the autograd step (gradients, trajectories, optimizer hand-off).</summary>
[Collection("Torch")]
public sealed class FusedCrosscoderStepTests
{
    private const double AuxKCoefficient = 0.25;

    /// <summary>A BatchTopK crosscoder with non-zero biases (so both enter every gradient), in <paramref name="dtype"/>.</summary>
    internal static Crosscoder Make(int sources, int dim, int latents, int k, ScalarType dtype, long seed = 3)
    {
        var config = new CrosscoderConfig { SourceCount = sources, InputDim = dim, LatentCount = latents, K = k, DecoderInitNorm = 0.3 };
        var crosscoder = Crosscoder.Create(config, seed);
        crosscoder.to(dtype);
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed + 100);
        crosscoder.EncoderBiasL.copy_(randn(latents, dtype: ScalarType.Float64, generator: generator).mul(0.2));
        crosscoder.DecoderBiasSD.copy_(randn(sources, dim, dtype: ScalarType.Float64, generator: generator).mul(0.1));
        // Unequal decoder norms across latents, so the Σ_s ‖d_l^s‖ weighting changes the selection.
        crosscoder.DecoderWeightLSD.mul_(rand(latents, 1, 1, dtype: ScalarType.Float64, generator: generator).mul(1.5).add(0.25));
        return crosscoder;
    }

    internal static Tensor Batch(int rows, int sources, int dim, ScalarType dtype, long seed) =>
        randn(rows, sources, dim, dtype: ScalarType.Float64, generator: new Generator((ulong)seed)).to_type(dtype);

    /// <summary>Every third latent dead: AuxK is active and overlaps the main selection.</summary>
    internal static Tensor DeadMask(int latents, bool anyDead) =>
        tensor(Enumerable.Range(0, latents).Select(l => anyDead && l % 3 == 1).ToArray());

    private static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var a = actual.to_type(ScalarType.Float64); var e = expected.to_type(ScalarType.Float64);
        double norm = e.norm().item<double>();
        return a.sub(e).norm().item<double>() / Math.Max(norm, 1e-300);
    }

    [Theory]
    [InlineData(ScalarType.Float64, true, false, 2, 12, 40, 16, 4)]
    [InlineData(ScalarType.Float64, false, false, 2, 12, 40, 16, 4)]
    [InlineData(ScalarType.Float64, true, true, 2, 12, 40, 16, 4)]
    [InlineData(ScalarType.Float64, true, false, 3, 23, 1100, 8, 6)]
    [InlineData(ScalarType.Float32, true, false, 2, 12, 40, 16, 4)]
    [InlineData(ScalarType.Float32, true, true, 3, 23, 1100, 8, 6)]
    public void FusedCrosscoderStep_Gradients_EqualAutograd(ScalarType dtype, bool anyDead, bool denseEncoder, int sources, int dim, int latents, int rows, int k)
    {
        using var scope = NewDisposeScope();
        using var reference = Make(sources, dim, latents, k, dtype);
        using var fused = Make(sources, dim, latents, k, dtype);
        var xBSD = Batch(rows, sources, dim, dtype, seed: 9);
        var deadMaskL = DeadMask(latents, anyDead);
        const int auxKLatents = 5;

        using var autograd = new AutogradCrosscoderStep(reference);
        reference.train();
        var (output, auxK, loss) = autograd.Loss(xBSD, 0, deadMaskL, AuxKCoefficient, auxKLatents);
        loss.backward();
        Assert.Equal(anyDead, auxK.to_type(ScalarType.Float64).item<double>() > 0);

        // After one Adam step from zero moments, m = (1 − β1)·g: the fused step's gradient, read without a second code path.
        using var step = new FusedCrosscoderStep(fused.TrainableParameters, fused.Config.K, denseEncoder ? Mode.Dense : Mode.Sparse);
        using var result = step.Step(xBSD, new StepSettings(1e-3, 0, deadMaskL, AuxKCoefficient, auxKLatents));
        var state = step.OptimizerState().ToDictionary(e => e.Name, e => e.Tensor);
        double tolerance = dtype == ScalarType.Float64 ? 1e-9 : 1e-4;
        foreach (var (name, parameter) in reference.TrainableParameters)
        {
            var gradient = state[$"adam.m.{name}"].div(1 - AdamOptimizer.Beta1);
            Assert.True(parameter.grad!.norm().to_type(ScalarType.Float64).item<double>() > 0, $"{name}: autograd gradient is zero, the test would prove nothing");
            double error = RelativeError(gradient, parameter.grad!);
            Assert.True(error < tolerance, $"{dtype} dense encoder {denseEncoder} {name}: relative error {error:E3} (tolerance {tolerance:E0})");
        }
        Assert.Equal(loss.to_type(ScalarType.Float64).item<double>(), result.Loss.to_type(ScalarType.Float64).item<double>(), dtype == ScalarType.Float64 ? 1e-10 : 1e-4);
        Assert.Equal(auxK.to_type(ScalarType.Float64).item<double>(), result.AuxKLoss.to_type(ScalarType.Float64).item<double>(), dtype == ScalarType.Float64 ? 1e-10 : 1e-4);

        // The metrics agree with the autograd step's definitions.
        var activeBL = output.Latents.detach().gt(0);
        Assert.Equal(activeBL.sum(1).to_type(ScalarType.Float64).mean().item<double>(), result.L0.item<double>(), 12);
        Assert.True(activeBL.sum([0]).to_type(ScalarType.Float32).eq(result.FiredCountsL).all().item<bool>());
        var errorBSD = output.Reconstruction.detach().sub(xBSD).to_type(ScalarType.Float64);
        Assert.True(RelativeError(result.SquaredErrorSum, errorBSD.square().sum([0, 2])) < tolerance);
        var x64 = xBSD.to_type(ScalarType.Float64);
        Assert.True(RelativeError(result.VarianceSum, x64.sub(x64.mean([0], keepdim: true)).square().sum([0, 2])) < 1e-12);
        var weightedBL = output.Latents.detach().mul(reference.NormSumL().detach());
        double minSelected = weightedBL.masked_select(weightedBL.gt(0)).min().to_type(ScalarType.Float64).item<double>();
        Assert.Equal(minSelected, result.MinSelectedActivation!.to_type(ScalarType.Float64).item<double>(), dtype == ScalarType.Float64 ? 1e-12 : 1e-5);
    }

    [Theory]
    [InlineData(ScalarType.Float64, 1e-8)]
    [InlineData(ScalarType.Float32, 2e-3)]
    public void FusedCrosscoderStep_TenSteps_ParametersAgreeWithAutograd(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        const int s = 2, d = 16, l = 48, b = 32, k = 4;
        using var reference = Make(s, d, l, k, dtype);
        using var fused = Make(s, d, l, k, dtype);
        using var autograd = new AutogradCrosscoderStep(reference);
        using var step = new FusedCrosscoderStep(fused.TrainableParameters, fused.Config.K);
        for (int i = 0; i < 10; i++)
        {
            using var stepScope = NewDisposeScope();
            var xBSD = Batch(b, s, d, dtype, seed: 100 + i);
            var deadMaskL = DeadMask(l, anyDead: i >= 4);
            autograd.Step(xBSD, new StepSettings(1e-3, 0, deadMaskL, AuxKCoefficient, 6)).Dispose();
            step.Step(xBSD, new StepSettings(1e-3, 0, deadMaskL, AuxKCoefficient, 6)).Dispose();
        }
        AssertParametersAgree(reference, fused, tolerance, "after 10 steps");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FusedCrosscoderStep_OptimizerState_HandsOffBothWays(bool autogradFirst)
    {
        using var scope = NewDisposeScope();
        const int s = 2, d = 10, l = 30, b = 24, k = 3;
        const ScalarType dtype = ScalarType.Float64;
        using var uninterrupted = Make(s, d, l, k, dtype);
        using var switched = Make(s, d, l, k, dtype);
        using var referenceStep = new AutogradCrosscoderStep(uninterrupted);
        for (int i = 0; i < 8; i++) Run(referenceStep, i);

        ITrainingStep first = autogradFirst ? new AutogradCrosscoderStep(switched) : new FusedCrosscoderStep(switched.TrainableParameters, switched.Config.K);
        for (int i = 0; i < 4; i++) Run(first, i);
        var saved = first.OptimizerState().ToDictionary(e => e.Name, e => e.Tensor.clone());
        first.Dispose();
        using ITrainingStep second = autogradFirst ? new FusedCrosscoderStep(switched.TrainableParameters, switched.Config.K) : new AutogradCrosscoderStep(switched);
        second.LoadOptimizerState(saved);
        // Same names, shapes and values: what one step writes the other reads unchanged.
        var loaded = second.OptimizerState().ToDictionary(e => e.Name, e => e.Tensor);
        Assert.Equal(saved.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, tensor) in saved)
            Assert.True(tensor.eq(loaded[name]).all().item<bool>(), $"{name} changed in the hand-off");
        for (int i = 4; i < 8; i++) Run(second, i);
        AssertParametersAgree(uninterrupted, switched, 1e-8, autogradFirst ? "autograd → fused" : "fused → autograd");

        void Run(ITrainingStep step, int i)
        {
            using var stepScope = NewDisposeScope();
            step.Step(Batch(b, s, d, dtype, seed: 200 + i), new StepSettings(2e-3, 0, DeadMask(l, anyDead: true), AuxKCoefficient, 4)).Dispose();
        }
    }

    [Fact]
    public void FusedCrosscoderStep_UnsupportedDtype_IsRefusedNamingTheField()
    {
        using var half = Crosscoder.Create(new CrosscoderConfig { InputDim = 4, LatentCount = 8, K = 2 }, 1);
        half.to(ScalarType.BFloat16);
        Assert.False(FusedCrosscoderStep.Supports(half.EncoderWeightSDL));
        Assert.Equal("step_kind", Assert.Throws<SaeSharpException>(() => new FusedCrosscoderStep(half.TrainableParameters, half.Config.K)).Field);
    }

    [Fact]
    public void CrosscoderTrainer_StepKind_AutoPicksFusedForBatchTopKAndAutogradForL1()
    {
        var batchTopK = new CrosscoderConfig { InputDim = 4, LatentCount = 8, K = 2 };
        using (var auto = new CrosscoderTrainer(batchTopK, new TrainConfig()))
            Assert.IsType<FusedCrosscoderStep>(auto.TrainingStep);
        using (var forced = new CrosscoderTrainer(batchTopK, new TrainConfig { StepKind = TrainingStepKind.Autograd }))
            Assert.IsType<AutogradCrosscoderStep>(forced.TrainingStep);
        var l1 = batchTopK with { Sparsity = CrosscoderSparsity.L1 };
        using (var auto = new CrosscoderTrainer(l1, new TrainConfig()))
            Assert.IsType<AutogradCrosscoderStep>(auto.TrainingStep);
        Assert.Equal("step_kind", Assert.Throws<SaeSharpException>(() => new CrosscoderTrainer(l1, new TrainConfig { StepKind = TrainingStepKind.Fused })).Field);
        Assert.Equal("step_kind", Assert.Throws<SaeSharpException>(() => new TrainConfig { StepKind = (TrainingStepKind)7 }.Validate()).Field);
    }

    internal static void AssertParametersAgree(Crosscoder expected, Crosscoder actual, double tolerance, string when)
    {
        foreach (var ((name, e), (_, a)) in expected.TrainableParameters.Zip(actual.TrainableParameters))
        {
            double error = RelativeError(a, e);
            Assert.True(error < tolerance, $"{name} {when}: relative difference {error:E3} (tolerance {tolerance:E0})");
        }
    }
}
