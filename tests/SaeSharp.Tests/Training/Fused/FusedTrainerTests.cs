using SaeSharp.Training;
using TorchSharp;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>Whole training runs through <see cref="SaeTrainer"/>: the fused step (the default) against autograd.</summary>
[Collection("Torch")]
public sealed class FusedTrainerTests
{
    [Theory]
    [InlineData("topk")]
    [InlineData("batchtopk")]
    public async Task Train_FusedAndAutograd_SameLossCurve(string architecture)
    {
        var saeConfig = new SaeConfig(16, 256, TestArchitectures.Create(architecture, k: 4));
        // A short dead window so that AuxK engages during the run.
        var trainConfig = new TrainConfig { Steps = 60, BatchSize = 256, LogEvery = 6, Seed = 7, DeadWindowTokens = 256 * 2, InitSampleRows = 1024 };
        async Task<List<TrainMetrics>> Run(TrainingStepKind kind)
        {
            var curve = new List<TrainMetrics>();
            using var source = new SyntheticActivationSource(new SyntheticSourceConfig(16, 48, 3) { Seed = 3 });
            using var trainer = new SaeTrainer(saeConfig, trainConfig with { StepKind = kind });
            var progress = new SynchronousProgress(p => { if (p.Metrics is { } m) curve.Add(m); });
            await trainer.TrainAsync(source, progress);
            return curve;
        }
        var fused = await Run(TrainingStepKind.Auto);
        var autograd = await Run(TrainingStepKind.Autograd);
        Assert.Equal(autograd.Count, fused.Count);
        Assert.True(autograd.Count >= 10);
        Assert.True(autograd[^1].Fvu < 0.5 * autograd[0].Fvu, "the run should learn");
        Assert.Contains(autograd, m => m.AuxKLoss > 0);
        for (int i = 0; i < fused.Count; i++)
        {
            Assert.Equal(autograd[i].Step, fused[i].Step);
            Assert.True(Math.Abs(fused[i].Loss - autograd[i].Loss) <= 2e-3 * autograd[i].Loss, $"step {fused[i].Step}: loss {fused[i].Loss} vs {autograd[i].Loss}");
            Assert.True(Math.Abs(fused[i].Fvu - autograd[i].Fvu) <= 2e-3, $"step {fused[i].Step}: FVU {fused[i].Fvu} vs {autograd[i].Fvu}");
            Assert.True(Math.Abs(fused[i].L0 - autograd[i].L0) <= 0.05 * Math.Max(1, autograd[i].L0), $"step {fused[i].Step}: L0 {fused[i].L0} vs {autograd[i].L0}");
        }
    }

    sealed class SynchronousProgress(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}
