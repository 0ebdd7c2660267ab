using SaeSharp.Testing;
using SaeSharp.IO;
using SaeSharp.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training;

/// <summary>
/// SAE checkpoints written by the code before the shared training engine (commit bb29856; the fixtures and the
/// generator that wrote them are in tests/fixtures/legacy-checkpoints) still load and resume: each fixture holds a
/// run stopped at step 10 and the same run's state after an uninterrupted 20 steps.
/// </summary>
[Collection("Torch")]
public sealed class LegacyCheckpointTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-legacy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // The generator's source: SyntheticActivationSource seeds every batch by its position, so the resumed run reads
    // the rows the old run would have read.
    private static readonly SyntheticSourceConfig Source = new(InputDim: 16, TrueFeatures: 48, ActivePerRow: 3) { Seed = 1 };

    [Fact]
    public Task SaeTrainer_ResumesOldAutogradTopKRun_BitIdenticalToOldUninterruptedRun() =>
        ResumeAndCompare("sae-topk-autograd", TrainingStepKind.Autograd);

    // The fused step's AuxK selection is now a quickselect; it sorts each row's picks largest first, the order the old
    // heap listed them in, so the decode sums them in the same order and the resumed run matches bit for bit.
    [Fact]
    public Task SaeTrainer_ResumesOldFusedTopKRun_BitIdenticalToOldUninterruptedRun() =>
        ResumeAndCompare("sae-topk-fused", TrainingStepKind.Fused);

    [Theory]
    [InlineData("sae-topk-autograd")]
    [InlineData("sae-topk-fused")]
    public void SaeCheckpoint_LoadsOldFolder(string run)
    {
        var folder = Path.Combine(LegacyRuns.Fixture(run), "stopped");
        using var sae = SaeCheckpoint.Load(folder);
        Assert.Equal(16, sae.InputDim);
        Assert.Equal(32, sae.LatentCount);
        Assert.Equal(new TopKArchitecture(2), sae.Config.Architecture);
        // The old state's configs and run metadata read through the new TrainingState.
        using var state = TrainingState.Load(folder);
        Assert.Equal(10, state.RequiredLong("step"));
        Assert.Equal("synthetic d16 f48 a3 seed1", state.RunMetadata["source"]);
        using var x = new SyntheticActivationSource(Source).NextBatch(8);
        using var latents = sae.Encode(x);
        Assert.Equal([8L, 32], latents.shape);
        Assert.True(isfinite(latents).all().item<bool>());
    }

    private async Task ResumeAndCompare(string run, TrainingStepKind kind)
    {
        var folder = Path.Combine(_directory, run);
        LegacyRuns.CopyDirectory(Path.Combine(LegacyRuns.Fixture(run), "stopped"), folder);

        using var source = new SyntheticActivationSource(Source);
        using var trainer = SaeTrainer.Resume(folder);
        Assert.Equal(10, trainer.Step);
        Assert.Equal(kind, trainer.TrainConfig.StepKind);
        Assert.Equal(32L, trainer.TrainConfig.DeadWindowTokens);
        await trainer.TrainAsync(source);
        Assert.Equal(20, trainer.Step);

        using var expected = TrainingState.Load(Path.Combine(LegacyRuns.Fixture(run), "expected"));
        Assert.Equal(expected.RequiredDouble("activation_scale"), trainer.ActivationScale);
        foreach (var (name, parameter) in trainer.Sae.TrainableParameters)
        {
            var want = expected.RequiredTensor($"param.{name}", parameter);
            double difference = LegacyRuns.RelativeDifference(parameter, want);
            output.WriteLine($"{run} {name}: max |resumed - old| / max |old| = {difference:E3}");
            Assert.True(TestTensors.Identical(want, parameter), $"{run}: {name} is not bit-identical to the old run's (relative difference {difference:E3})");
        }
        // metrics.jsonl: the old records up to step 10 kept, the resumed ones appended once each.
        var steps = File.ReadAllLines(Path.Combine(folder, DictionaryTrainer.MetricsFileName))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToArray();
        Assert.Equal([5L, 10, 15, 20], steps);
    }
}
