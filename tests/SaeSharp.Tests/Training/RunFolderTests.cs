using SaeSharp.Training;

namespace SaeSharp.Tests.Training;

/// <summary>What a run leaves in its folder when things go wrong: a torn metrics line, a divergence, a stray log.</summary>
[Collection("Torch")]
public sealed class RunFolderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-runfolder-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly SaeConfig Small = new(16, 48, new TopKArchitecture(4));

    private static TrainConfig Run => new()
    {
        Steps = 30, BatchSize = 64, LearningRate = 3e-3, Seed = 5, LogEvery = 5, CheckpointEvery = 0, InitSampleRows = 256,
    };

    private static SyntheticActivationSource Source() => new(new SyntheticSourceConfig(16, 64, 3) { Seed = 9 });

    [Fact]
    public async Task Resume_MetricsWithATornLastLine_KeepsTheWholeRecordsAndFinishes()
    {
        using (var source = Source())
        using (var stopped = new SaeTrainer(Small, Run, new TrainerOptions { OutputDirectory = _directory }))
        using (var cancellation = new CancellationTokenSource())
        {
            var progress = new Progress(step => { if (step == 12) cancellation.Cancel(); });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stopped.TrainAsync(source, progress, cancellation.Token));
        }
        // A kill in the middle of appending a record leaves half a line.
        var metricsPath = Path.Combine(_directory, DictionaryTrainer.MetricsFileName);
        File.AppendAllText(metricsPath, "{\"step\":15,\"tokens\":96");

        using var resumedSource = Source();
        using var resumed = SaeTrainer.Resume(_directory);
        await resumed.TrainAsync(resumedSource);
        var steps = File.ReadAllLines(metricsPath).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64());
        Assert.Equal([5L, 10, 15, 20, 25, 30], steps);
    }

    [Fact]
    public async Task Train_DivergesBeforeAnyCheckpoint_SaysThereIsNothingToResume()
    {
        using var source = Source();
        using var trainer = new SaeTrainer(Small, Run with { LearningRate = 1e30, StepKind = TrainingStepKind.Autograd },
            new TrainerOptions { OutputDirectory = _directory });
        var error = await Assert.ThrowsAsync<SaeSharpException>(() => trainer.TrainAsync(source));
        Assert.Equal("loss", error.Field);
        Assert.Contains("nothing to resume", error.Message);
        Assert.DoesNotContain("checkpoint (step", error.Message);
    }

    [Fact]
    public void NewRun_FolderHoldingOnlyAMetricsLog_IsRefusedWithoutOverwrite()
    {
        var metricsPath = Path.Combine(_directory, DictionaryTrainer.MetricsFileName);
        File.WriteAllText(metricsPath, "{\"step\":5}\n");
        var error = Assert.Throws<SaeSharpException>(() => new SaeTrainer(Small, Run, new TrainerOptions { OutputDirectory = _directory }));
        Assert.Contains("`overwrite`", error.Message);
        Assert.Equal("{\"step\":5}\n", File.ReadAllText(metricsPath));
        using var allowed = new SaeTrainer(Small, Run, new TrainerOptions { OutputDirectory = _directory, Overwrite = true });
    }

    private sealed class Progress(Action<long> onStep) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => onStep(value.Step);
    }
}
