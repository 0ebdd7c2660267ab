using SaeSharp.Training;
using SaeSharp.Training.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>The fused sparse step against libtorch autograd + torch.optim.Adam on the same batches.</summary>
[Collection("Torch")]
public sealed class FusedTopKTrainingStepTests
{
    // Arguments as strings: the step's enums are internal and theory parameters must be public.
    public static TheoryData<string, string, bool, bool> Cases()
    {
        var data = new TheoryData<string, string, bool, bool>();
        foreach (var selection in new[] { nameof(TopKSelection.TopK), nameof(TopKSelection.BatchTopK) })
            foreach (var backend in new[] { nameof(FusedBackend.Kernels), nameof(FusedBackend.LibTorch) })
                foreach (var float64 in new[] { false, true })
                    foreach (var withDead in new[] { false, true })
                        data.Add(selection, backend, float64, withDead);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Step_FirstStep_GradientsAndLossMatchAutograd(string selectionName, string backendName, bool float64, bool withDead)
    {
        var selection = Enum.Parse<TopKSelection>(selectionName); var backend = Enum.Parse<FusedBackend>(backendName);
        using var scope = NewDisposeScope();
        var dtype = float64 ? ScalarType.Float64 : ScalarType.Float32;
        using var fixture = new FusedStepFixture(dim: 45, latents: 130, dtype, seed: 11);
        var options = new FusedTopKOptions(selection, K: 5, Backend: backend);
        using var reference = new AutogradReference(fixture.WEncLD, fixture.BEncL, fixture.WDecLD, fixture.BDecD, options, 1e-3);
        using var fused = new FusedTopKTrainingStep(fixture.WEncLD.clone(), fixture.BEncL.clone(), fixture.WDecLD.clone(), fixture.BDecD.clone(), options);
        var x = fixture.Batch(64);
        var settings = fixture.Settings(1e-3, fixture.DeadMask(withDead ? 0.5 : 0));

        var (loss, recon, aux, grads) = reference.Backward(x, settings);
        using var result = fused.Step(x, settings);

        // After one step from zero moments, m = (1 − β1)·g exactly as each implementation rounds it.
        double tolerance = float64 ? 1e-11 : 1e-5;
        var moments = fused.Moments;
        string[] names = ["W_enc", "b_enc", "W_dec", "b_dec"];
        for (int i = 0; i < 4; i++)
        {
            var gradient = moments[i].M / (1 - options.Beta1);
            Assert.True(RelativeError(gradient, grads[i]) < tolerance, $"{names[i]}: relative error {RelativeError(gradient, grads[i]):E2}");
        }
        Assert.Equal(recon, Value(result.ReconLoss), float64 ? 1e-12 : 1e-5 * recon);
        Assert.Equal(loss, Value(result.Loss), float64 ? 1e-12 : 1e-5 * loss);
        Assert.Equal(aux, Value(result.AuxKLoss), float64 ? 1e-12 : 1e-5 * Math.Max(aux, 1e-3));
        if (withDead) Assert.True(aux > 0);
        Assert.True(Value(result.L0) > 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Step_FourSteps_ParametersMatchTorchAdam(string selectionName, string backendName, bool float64, bool withDead)
    {
        var selection = Enum.Parse<TopKSelection>(selectionName); var backend = Enum.Parse<FusedBackend>(backendName);
        using var scope = NewDisposeScope();
        var dtype = float64 ? ScalarType.Float64 : ScalarType.Float32;
        using var fixture = new FusedStepFixture(dim: 37, latents: 96, dtype, seed: 5);
        var options = new FusedTopKOptions(selection, K: 4, Backend: backend);
        using var reference = new AutogradReference(fixture.WEncLD, fixture.BEncL, fixture.WDecLD, fixture.BDecD, options, 1e-3);
        using var fused = new FusedTopKTrainingStep(fixture.WEncLD.clone(), fixture.BEncL.clone(), fixture.WDecLD.clone(), fixture.BDecD.clone(), options);
        for (int s = 0; s < 4; s++)
        {
            var x = fixture.Batch(48);
            var settings = fixture.Settings(1e-3 * (s + 1), fixture.DeadMask(withDead ? 0.3 : 0));
            reference.Step(x, settings);
            fused.Step(x, settings).Dispose();
        }
        var (wEnc, bEnc, wDec, bDec) = fused.Parameters;
        double tolerance = float64 ? 1e-12 : 2e-6;
        Assert.True(MaxAbs(wEnc, reference.WEncLD) < tolerance, $"W_enc differs by {MaxAbs(wEnc, reference.WEncLD):E2}");
        Assert.True(MaxAbs(bEnc, reference.BEncL) < tolerance, $"b_enc differs by {MaxAbs(bEnc, reference.BEncL):E2}");
        Assert.True(MaxAbs(wDec, reference.WDecLD) < tolerance, $"W_dec differs by {MaxAbs(wDec, reference.WDecLD):E2}");
        Assert.True(MaxAbs(bDec, reference.BDecD) < tolerance, $"b_dec differs by {MaxAbs(bDec, reference.BDecD):E2}");
        // The parameters really moved (the comparison is not between two untouched copies).
        Assert.True(MaxAbs(wEnc, fixture.WEncLD) > 1e-3);
        Assert.True(MaxAbs(bDec, fixture.BDecD) > 1e-3);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Step_TrainingRun_LossCurveMatchesAutograd(bool batchTopK, bool float64)
    {
        var selection = batchTopK ? TopKSelection.BatchTopK : TopKSelection.TopK;
        using var scope = NewDisposeScope();
        var dtype = float64 ? ScalarType.Float64 : ScalarType.Float32;
        using var fixture = new FusedStepFixture(dim: 32, latents: 128, dtype, seed: 3);
        var options = new FusedTopKOptions(selection, K: 6);
        using var reference = new AutogradReference(fixture.WEncLD, fixture.BEncL, fixture.WDecLD, fixture.BDecD, options, 3e-3);
        using var fused = new FusedTopKTrainingStep(fixture.WEncLD.clone(), fixture.BEncL.clone(), fixture.WDecLD.clone(), fixture.BDecD.clone(), options);
        var dead = fixture.DeadMask(0.2);
        var fusedCurve = new List<double>(); var referenceCurve = new List<double>();
        for (int s = 0; s < 60; s++)
        {
            using var stepScope = NewDisposeScope();
            var x = fixture.Batch(128);
            var settings = fixture.Settings(3e-3, dead);
            referenceCurve.Add(reference.Step(x, settings).Loss);
            using var result = fused.Step(x, settings);
            fusedCurve.Add(Value(result.Loss));
        }
        Assert.True(referenceCurve[^1] < 0.7 * referenceCurve[0], "the reference run should learn");
        double tolerance = float64 ? 1e-9 : 1e-3;
        for (int s = 0; s < fusedCurve.Count; s++)
            Assert.True(Math.Abs(fusedCurve[s] - referenceCurve[s]) <= tolerance * referenceCurve[s],
                $"step {s}: fused {fusedCurve[s]} vs autograd {referenceCurve[s]}");
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
            using var fused = new FusedTopKTrainingStep(fixture.WEncLD.clone(), fixture.BEncL.clone(), fixture.WDecLD.clone(), fixture.BDecD.clone(),
                new FusedTopKOptions(TopKSelection.TopK, K: 8, Backend: FusedBackend.Kernels));
            foreach (var x in batches) fused.Step(x, fixture.Settings(1e-3, dead)).Dispose();
            var (a, b, c, d) = fused.Parameters;
            return [a, b, c, d];
        }
        var first = Run(); var second = Run();
        for (int i = 0; i < 4; i++) Assert.True(BitEqual(first[i], second[i]), $"parameter {i} differs between identical runs");
    }

    [Fact]
    public void OptimizerState_RoundTrip_ResumesIdentically()
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 24, latents: 64, ScalarType.Float32, seed: 2);
        var options = new FusedTopKOptions(TopKSelection.TopK, K: 4, Backend: FusedBackend.Kernels);
        var batches = Enumerable.Range(0, 4).Select(_ => fixture.Batch(32)).ToArray();
        var dead = fixture.DeadMask(0);
        using var straight = new FusedTopKTrainingStep(fixture.WEncLD.clone(), fixture.BEncL.clone(), fixture.WDecLD.clone(), fixture.BDecD.clone(), options);
        foreach (var x in batches) straight.Step(x, fixture.Settings(1e-3, dead)).Dispose();

        using var first = new FusedTopKTrainingStep(fixture.WEncLD.clone(), fixture.BEncL.clone(), fixture.WDecLD.clone(), fixture.BDecD.clone(), options);
        foreach (var x in batches.Take(2)) first.Step(x, fixture.Settings(1e-3, dead)).Dispose();
        var saved = first.OptimizerState().ToDictionary(p => p.Name, p => p.Tensor.clone());
        var (a, b, c, d) = first.Parameters;
        using var resumed = new FusedTopKTrainingStep(a.clone(), b.clone(), c.clone(), d.clone(), options);
        resumed.LoadOptimizerState(saved);
        foreach (var x in batches.Skip(2)) resumed.Step(x, fixture.Settings(1e-3, dead)).Dispose();
        Assert.Equal(4, resumed.StepCount);
        Assert.True(BitEqual(resumed.Parameters.WDec, straight.Parameters.WDec));
        Assert.True(BitEqual(resumed.Parameters.WEnc, straight.Parameters.WEnc));
    }

    [CudaFact]
    public void Step_OnCuda_MatchesCpuKernels()
    {
        using var scope = NewDisposeScope();
        using var fixture = new FusedStepFixture(dim: 64, latents: 256, ScalarType.Float32, seed: 4);
        var options = new FusedTopKOptions(TopKSelection.TopK, K: 8);
        using var cpu = new FusedTopKTrainingStep(fixture.WEncLD.clone(), fixture.BEncL.clone(), fixture.WDecLD.clone(), fixture.BDecD.clone(), options);
        using var gpu = new FusedTopKTrainingStep(fixture.WEncLD.cuda(), fixture.BEncL.cuda(), fixture.WDecLD.cuda(), fixture.BDecD.cuda(), options);
        var dead = fixture.DeadMask(0.2);
        for (int s = 0; s < 3; s++)
        {
            var x = fixture.Batch(128);
            cpu.Step(x, fixture.Settings(1e-3, dead)).Dispose();
            gpu.Step(x.cuda(), fixture.Settings(1e-3, dead.cuda())).Dispose();
        }
        Assert.True(MaxAbs(gpu.Parameters.WEnc.cpu(), cpu.Parameters.WEnc) < 1e-5);
        Assert.True(MaxAbs(gpu.Parameters.WDec.cpu(), cpu.Parameters.WDec) < 1e-5);
    }

    internal static double Value(Tensor t) => t.to_type(ScalarType.Float64).item<double>();

    internal static bool BitEqual(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && (a == b).all().item<bool>();

    internal static double RelativeError(Tensor actual, Tensor expected) =>
        (actual.to_type(ScalarType.Float64) - expected.to_type(ScalarType.Float64)).norm().item<double>()
        / Math.Max(expected.to_type(ScalarType.Float64).norm().item<double>(), 1e-30);

    internal static double MaxAbs(Tensor a, Tensor b) =>
        (a.to_type(ScalarType.Float64) - b.detach().to_type(ScalarType.Float64)).abs().max().item<double>();
}
