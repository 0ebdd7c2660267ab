using SaeSharp.Testing;
using SaeSharp.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Tests;

/// <summary>
/// Crosscoder checkpoints written by the code before the shared training engine (commit bb29856; fixtures and their
/// generator in tests/fixtures/legacy-checkpoints) still load and resume. Their training states differ from the new
/// ones: <c>train_config</c> is a CrosscoderTrainConfig (<c>l1_coefficient</c>, <c>l1_warmup_steps</c>, <c>step</c>
/// as a string enum), the dead counter is <c>tokens_since_fired</c>, and there is no <c>rng.torch_cpu</c>.
/// </summary>
[Collection("Torch")]
public sealed class LegacyCheckpointTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-legacy-crosscoder-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public Task CrosscoderTrainer_ResumesOldL1Run_BitIdenticalToOldUninterruptedRun() =>
        ResumeAndCompare("crosscoder-l1", CrosscoderSparsity.L1);

    // The fused BatchTopK step (the default on the CPU), with AuxK active after the resume (about half the latents
    // dead, 8 AuxK picks per row). Unlike the SAE's fused TopK step (see SaeSharp.Tests' LegacyCheckpointTests), the
    // new AuxK selection leaves this step's result bit-identical: measured, and held exactly.
    [Fact]
    public Task CrosscoderTrainer_ResumesOldFusedBatchTopKRun_BitIdenticalToOldUninterruptedRun() =>
        ResumeAndCompare("crosscoder-batchtopk", CrosscoderSparsity.BatchTopK);

    [Theory]
    [InlineData("crosscoder-batchtopk", CrosscoderSparsity.BatchTopK)]
    [InlineData("crosscoder-l1", CrosscoderSparsity.L1)]
    public void CrosscoderCheckpoint_LoadsOldFolder(string run, CrosscoderSparsity sparsity)
    {
        var folder = Path.Combine(LegacyRuns.Fixture(run), "stopped");
        using var loaded = CrosscoderCheckpoint.Load(folder);
        Assert.Equal(10, loaded.Step);
        var config = loaded.Crosscoder.Config;
        Assert.Equal((2, 8, 32, sparsity, 2), (config.SourceCount, config.InputDim, config.LatentCount, config.Sparsity, config.K));
        Assert.Equal(["A", "B"], config.SourceNames);
        using var state = TrainingState.Load(folder);
        var scales = state.Required("source_scales").Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(scales, loaded.SourceScales);
        foreach (var (name, parameter) in loaded.Crosscoder.TrainableParameters)
            Assert.True(Identical(state.RequiredTensor($"param.{name}", parameter), parameter), $"{run}: {name} in the weights file differs from the training state's");
    }

    private async Task ResumeAndCompare(string run, CrosscoderSparsity sparsity)
    {
        var folder = Path.Combine(_directory, run);
        LegacyRuns.CopyDirectory(Path.Combine(LegacyRuns.Fixture(run), "stopped"), folder);

        using var source = PairedActivationSource.FromTensors(PairedRows(), seed: 2);
        using var trainer = CrosscoderTrainer.Resume(folder);
        Assert.Equal(10, trainer.Step);
        Assert.Equal(sparsity, trainer.Crosscoder.Config.Sparsity);
        // The old names, read by TrainConfigReader.
        Assert.Equal(0.5, trainer.TrainConfig.SparsityCoefficient);
        Assert.Equal(TrainingStepKind.Auto, trainer.TrainConfig.StepKind);
        Assert.Equal(1e-2, trainer.TrainConfig.LearningRate);
        Assert.Equal(16L, trainer.TrainConfig.DeadWindowTokens);
        await trainer.TrainAsync(source);
        Assert.Equal(20, trainer.Step);

        using var expected = TrainingState.Load(Path.Combine(LegacyRuns.Fixture(run), "expected"));
        Assert.Equal(expected.Required("source_scales"), string.Join(",", trainer.SourceScales.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        var compared = trainer.Crosscoder.TrainableParameters.Select(p => (p.Name, (Tensor)p.Parameter, $"param.{p.Name}"))
            .Append(("threshold", trainer.Crosscoder.ThresholdL, "buffer.threshold"));
        foreach (var (name, actual, key) in compared)
        {
            var want = expected.RequiredTensor(key, actual);
            double difference = LegacyRuns.RelativeDifference(actual, want);
            output.WriteLine($"{run} {name}: max |resumed - old| / max |old| = {difference:E3}");
            Assert.True(Identical(want, actual), $"{run}: {name} is not bit-identical to the old run's (relative difference {difference:E3})");
        }
        // The dead counters the resumed run wrote (under the new name) match the old run's (under the old one).
        using var resumed = TrainingState.Load(folder);
        Assert.True(Identical(expected.Tensors["tokens_since_fired"], resumed.Tensors["dead.tokens_since_fired"]), $"{run}: dead counters differ");
        // metrics.jsonl: the old records up to step 10 kept, the resumed ones appended once each.
        var steps = File.ReadAllLines(Path.Combine(folder, DictionaryTrainer.MetricsFileName))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToArray();
        Assert.Equal([5L, 10, 15, 20], steps);
    }

    // The generator's rows (tests/fixtures/legacy-checkpoints/generate.cs, PairedRows): System.Random(int) is a
    // stable algorithm, so these are the old run's rows.
    private static Tensor[] PairedRows()
    {
        const int N = 256, D = 8;
        var random = new Random(11);
        var a = new float[N * D];
        var b = new float[N * D];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(random.NextDouble() * 2 - 1);
        for (int r = 0; r < N; r++)
            for (int c = 0; c < D; c++)
                b[r * D + c] = 0.8f * a[r * D + (c + 1) % D] + 0.3f * (float)(random.NextDouble() * 2 - 1);
        return [tensor(a).view(N, D), tensor(b).view(N, D)];
    }

    private static bool Identical(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
