using SaeSharp.Training;
using SaeSharp.Training.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>The fused sparse step against the autograd reference step on identical SAEs and batches.</summary>
[Collection("Torch")]
public sealed class FusedTopKTrainingStepTests
{
    // Arguments as strings: the step's enums are internal and theory parameters must be public.
    public static TheoryData<bool, string, bool, bool> Cases()
    {
        var data = new TheoryData<bool, string, bool, bool>();
        foreach (var batchTopK in new[] { false, true })
            foreach (var backend in new[] { nameof(FusedBackend.Kernels), nameof(FusedBackend.LibTorch) })
                foreach (var float64 in new[] { false, true })
                    foreach (var withDead in new[] { false, true })
                        data.Add(batchTopK, backend, float64, withDead);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Step_FirstStep_GradientsAndLossMatchAutograd(bool batchTopK, string backend, bool float64, bool withDead)
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 45, latents: 130, float64 ? ScalarType.Float64 : ScalarType.Float32, seed: 11);
        using var pair = new FusedAndAutograd(fixture, batchTopK, k: 5, Enum.Parse<FusedBackend>(backend));
        var x = fixture.Batch(64);
        var settings = FusedStepFixture.Settings(1e-3, fixture.DeadMask(withDead ? 0.5 : 0));

        var (loss, recon, aux, grads) = pair.ReferenceGradients(x, settings);
        using var result = pair.Fused.Step(x, settings);

        // After one step from zero moments, m = (1 − β1)·g: the fused step's gradient, as it rounded it.
        double tolerance = float64 ? 1e-11 : 1e-5;
        var moments = pair.Fused.Moments;
        string[] names = ["W_enc", "b_enc", "W_dec", "b_dec"];
        for (int i = 0; i < 4; i++)
        {
            var gradient = moments[i].M / (1 - AdamOptimizer.Beta1);
            double error = RelativeError(gradient, grads[i]);
            Assert.True(error < tolerance, $"{names[i]}: relative error {error:E2}");
        }
        double lossTolerance = float64 ? 1e-12 : 1e-5;
        Assert.Equal(recon, Value(result.ReconLoss), lossTolerance * recon);
        Assert.Equal(loss, Value(result.Loss), lossTolerance * loss);
        Assert.Equal(aux, Value(result.AuxKLoss), lossTolerance * Math.Max(aux, 1e-3));
        Assert.Equal(withDead, aux > 0);
        Assert.True(Value(result.L0) > 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Step_FourSteps_ParametersMatchAutograd(bool batchTopK, string backend, bool float64, bool withDead)
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 37, latents: 96, float64 ? ScalarType.Float64 : ScalarType.Float32, seed: 5);
        using var pair = new FusedAndAutograd(fixture, batchTopK, k: 4, Enum.Parse<FusedBackend>(backend));
        StepResult? fusedResult = null, referenceResult = null;
        for (int s = 0; s < 4; s++)
        {
            fusedResult?.Dispose(); referenceResult?.Dispose();
            var x = fixture.Batch(48);
            var settings = FusedStepFixture.Settings(1e-3 * (s + 1), fixture.DeadMask(withDead ? 0.3 : 0));
            referenceResult = pair.Autograd.Step(x, settings);
            fusedResult = pair.Fused.Step(x, settings);
        }
        double tolerance = float64 ? 1e-12 : 2e-6;
        var reference = pair.ReferenceSae.TrainableParameters.ToDictionary(p => p.Name, p => (Tensor)p.Parameter);
        foreach (var (name, parameter) in pair.FusedSae.TrainableParameters)
            Assert.True(MaxAbs(parameter, reference[name]) < tolerance, $"{name} differs by {MaxAbs(parameter, reference[name]):E2}");
        // The parameters really moved (the comparison is not between two untouched copies).
        Assert.True(MaxAbs(pair.FusedSae.EncoderWeightLD, fixture.WEncLD) > 1e-3);
        Assert.True(MaxAbs(pair.FusedSae.DecoderBiasD, fixture.BDecD) > 1e-3);
        // The step's reported metrics agree too.
        Assert.Equal(Value(referenceResult!.SquaredErrorSum), Value(fusedResult!.SquaredErrorSum), float64 ? 1e-10 : 1e-4);
        Assert.Equal(Value(referenceResult.VarianceSum), Value(fusedResult.VarianceSum), float64 ? 1e-10 : 1e-3);
        Assert.Equal(Value(referenceResult.L0), Value(fusedResult.L0), 1e-9);
        Assert.True(BitEqual(referenceResult.FiredCountsL, fusedResult.FiredCountsL));
        Assert.Equal(referenceResult.MinSelectedActivation is null, fusedResult.MinSelectedActivation is null);
        if (batchTopK) Assert.Equal(Value(referenceResult.MinSelectedActivation!), Value(fusedResult.MinSelectedActivation!), float64 ? 1e-12 : 1e-6);
        fusedResult.Dispose(); referenceResult.Dispose();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Step_TrainingRun_LossCurveMatchesAutograd(bool batchTopK, bool float64)
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 32, latents: 128, float64 ? ScalarType.Float64 : ScalarType.Float32, seed: 3);
        using var pair = new FusedAndAutograd(fixture, batchTopK, k: 6, FusedBackend.Auto);
        var dead = fixture.DeadMask(0.2);
        var fusedCurve = new List<double>(); var referenceCurve = new List<double>();
        for (int s = 0; s < 60; s++)
        {
            using var stepScope = NewDisposeScope();
            var x = fixture.Batch(128);
            var settings = FusedStepFixture.Settings(3e-3, dead);
            using (var r = pair.Autograd.Step(x, settings)) referenceCurve.Add(Value(r.Loss));
            using (var r = pair.Fused.Step(x, settings)) fusedCurve.Add(Value(r.Loss));
        }
        Assert.True(referenceCurve[^1] < 0.7 * referenceCurve[0], "the reference run should learn");
        double tolerance = float64 ? 1e-9 : 1e-3;
        for (int s = 0; s < fusedCurve.Count; s++)
            Assert.True(Math.Abs(fusedCurve[s] - referenceCurve[s]) <= tolerance * referenceCurve[s],
                $"step {s}: fused {fusedCurve[s]} vs autograd {referenceCurve[s]}");
    }

    [Fact]
    public void Step_NoCentring_MatchesAutograd()
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 20, latents: 50, ScalarType.Float64, seed: 21);
        var config = new SaeConfig(20, 50, new TopKArchitecture(3)) { ApplyDecoderBiasToInput = false };
        using var referenceSae = Sae.Create(config, 1); using var fusedSae = Sae.Create(config, 1);
        referenceSae.to(ScalarType.Float64); fusedSae.to(ScalarType.Float64);
        using (no_grad()) fusedSae.DecoderBiasD.copy_(fixture.BDecD);
        using (no_grad()) referenceSae.DecoderBiasD.copy_(fixture.BDecD);
        using var autograd = new AutogradTrainingStep(referenceSae);
        using var fused = new FusedTopKTrainingStep(fusedSae, FusedBackend.Kernels);
        for (int s = 0; s < 3; s++)
        {
            var x = fixture.Batch(30);
            var settings = FusedStepFixture.Settings(1e-2, fixture.DeadMask(0.3));
            autograd.Step(x, settings).Dispose(); fused.Step(x, settings).Dispose();
        }
        Assert.True(MaxAbs(fusedSae.DecoderBiasD, referenceSae.DecoderBiasD) < 1e-12);
        Assert.True(MaxAbs(fusedSae.EncoderWeightLD, referenceSae.EncoderWeightLD) < 1e-12);
    }

    [Fact]
    public void Step_SameInputsTwice_BitIdenticalParameters()
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 64, latents: 512, ScalarType.Float32, seed: 8);
        var batches = Enumerable.Range(0, 3).Select(_ => fixture.Batch(256)).ToArray();
        var dead = fixture.DeadMask(0.1);
        Tensor[] Run()
        {
            var sae = fixture.CreateSae(batchTopK: false, k: 8);
            using var fused = new FusedTopKTrainingStep(sae, FusedBackend.Kernels);
            foreach (var x in batches) fused.Step(x, FusedStepFixture.Settings(1e-3, dead)).Dispose();
            return sae.TrainableParameters.Select(p => p.Parameter.detach().clone()).ToArray();
        }
        var first = Run(); var second = Run();
        for (int i = 0; i < 4; i++) Assert.True(BitEqual(first[i], second[i]), $"parameter {i} differs between identical runs");
    }

    [Fact]
    public void OptimizerState_SavedByFused_ResumesAutogradAndViceVersa()
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 24, latents: 64, ScalarType.Float64, seed: 2);
        var batches = Enumerable.Range(0, 4).Select(_ => fixture.Batch(32)).ToArray();
        var dead = fixture.DeadMask(0);
        using var straight = new FusedAndAutograd(fixture, batchTopK: false, k: 4, FusedBackend.Kernels);
        foreach (var x in batches) straight.Autograd.Step(x, FusedStepFixture.Settings(1e-3, dead)).Dispose();

        // Two steps fused, then hand the SAE and the optimizer state to an autograd step for the rest.
        using var first = new FusedAndAutograd(fixture, batchTopK: false, k: 4, FusedBackend.Kernels);
        foreach (var x in batches.Take(2)) first.Fused.Step(x, FusedStepFixture.Settings(1e-3, dead)).Dispose();
        var saved = first.Fused.OptimizerState().ToDictionary(p => p.Name, p => p.Tensor.clone());
        using var resumed = new AutogradTrainingStep(first.FusedSae);
        resumed.LoadOptimizerState(saved);
        foreach (var x in batches.Skip(2)) resumed.Step(x, FusedStepFixture.Settings(1e-3, dead)).Dispose();

        var expected = straight.ReferenceSae.TrainableParameters.ToDictionary(p => p.Name, p => (Tensor)p.Parameter);
        foreach (var (name, parameter) in first.FusedSae.TrainableParameters)
            Assert.True(MaxAbs(parameter, expected[name]) < 1e-12, $"{name} differs by {MaxAbs(parameter, expected[name]):E2}");

        // And the other way: the autograd step's state loads into a fused step.
        var autogradState = straight.Autograd.OptimizerState().ToDictionary(p => p.Name, p => p.Tensor);
        using var fusedResumed = new FusedTopKTrainingStep(fixture.CreateSae(false, 4), FusedBackend.Kernels);
        fusedResumed.LoadOptimizerState(autogradState);
        Assert.Equal(4, fusedResumed.StepCount);
        Assert.True(BitEqual(fusedResumed.Moments[2].V, autogradState["adam.v.W_dec"]));
    }

    [Fact]
    public void Trainer_TopKByDefault_UsesFusedStep()
    {
        var topKConfig = new SaeConfig(8, 16, new TopKArchitecture(2));
        using var topK = new SaeTrainer(topKConfig, new TrainConfig());
        Assert.IsType<FusedTopKTrainingStep>(topK.TrainingStep);
        using var autograd = new SaeTrainer(topKConfig, new TrainConfig { StepKind = TrainingStepKind.Autograd });
        Assert.IsType<AutogradTrainingStep>(autograd.TrainingStep);
        using var relu = new SaeTrainer(new SaeConfig(8, 16, new ReluArchitecture()), new TrainConfig());
        Assert.IsType<AutogradTrainingStep>(relu.TrainingStep);
    }

    [CudaFact]
    public void Step_OnCuda_MatchesCpuKernels()
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 64, latents: 256, ScalarType.Float32, seed: 4);
        var cpuSae = fixture.CreateSae(false, 8);
        var gpuSae = fixture.CreateSae(false, 8);
        gpuSae.to(DeviceType.CUDA);
        using var cpu = new FusedTopKTrainingStep(cpuSae);
        using var gpu = new FusedTopKTrainingStep(gpuSae);
        var dead = fixture.DeadMask(0.2);
        for (int s = 0; s < 3; s++)
        {
            var x = fixture.Batch(128);
            cpu.Step(x, FusedStepFixture.Settings(1e-3, dead)).Dispose();
            gpu.Step(x.cuda(), FusedStepFixture.Settings(1e-3, dead.cuda())).Dispose();
        }
        Assert.True(MaxAbs(gpuSae.EncoderWeightLD.cpu(), cpuSae.EncoderWeightLD) < 1e-5);
        Assert.True(MaxAbs(gpuSae.DecoderWeightLD.cpu(), cpuSae.DecoderWeightLD) < 1e-5);
    }

    internal static double Value(Tensor t) => t.to_type(ScalarType.Float64).item<double>();

    internal static bool BitEqual(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && (a == b).all().item<bool>();

    internal static double RelativeError(Tensor actual, Tensor expected) =>
        (actual.to_type(ScalarType.Float64) - expected.to_type(ScalarType.Float64)).norm().item<double>()
        / Math.Max(expected.to_type(ScalarType.Float64).norm().item<double>(), 1e-30);

    internal static double MaxAbs(Tensor a, Tensor b) =>
        (a.detach().to_type(ScalarType.Float64) - b.detach().to_type(ScalarType.Float64)).abs().max().item<double>();
}
