using TorchSharp;
using SaeSharp.Training;

namespace SaeSharp.Tests.Training;

[Collection("Torch")]
public sealed class ResumeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-resume-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [MemberData(nameof(TestArchitectures.Names), MemberType = typeof(TestArchitectures))]
    public async Task SaeTrainer_StoppedAndResumed_EndsBitIdenticalToUninterruptedRun(string architecture)
    {
        var saeConfig = new SaeConfig(16, 48, TestArchitectures.Create(architecture, k: 4));
        var trainConfig = new TrainConfig
        {
            Steps = 40, BatchSize = 64, LearningRate = 3e-3, Seed = 5, LogEvery = 7, CheckpointEvery = 0,
            DeadWindowTokens = 640, InitSampleRows = 256,
        };
        var sourceConfig = new SyntheticSourceConfig(16, 64, 3) { Seed = 9 };

        // Uninterrupted.
        using var fullSource = new SyntheticActivationSource(sourceConfig);
        using var full = new SaeTrainer(saeConfig, trainConfig);
        await full.TrainAsync(fullSource);

        // Stopped after 20 steps (cancellation writes a checkpoint), then resumed from the folder.
        var runDirectory = Path.Combine(_directory, architecture);
        using (var stoppedSource = new SyntheticActivationSource(sourceConfig))
        using (var stopped = new SaeTrainer(saeConfig, trainConfig, new TrainerOptions { OutputDirectory = runDirectory }))
        using (var cancellation = new CancellationTokenSource())
        {
            var progress = new StopAt(20, cancellation);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stopped.TrainAsync(stoppedSource, progress, cancellation.Token));
            Assert.Equal(20, stopped.Step);
        }
        using var resumedSource = new SyntheticActivationSource(sourceConfig);
        using var resumed = SaeTrainer.Resume(runDirectory);
        Assert.Equal(20, resumed.Step);
        await resumed.TrainAsync(resumedSource);

        foreach (var ((name, expected), (_, actual)) in full.Sae.TrainableParameters.Zip(resumed.Sae.TrainableParameters))
            Assert.True(TestTensors.Identical(expected, actual), $"{architecture}: {name} differs after resume");
        Assert.Equal(full.ActivationScale, resumed.ActivationScale);
        if (full.Sae is BatchTopKSae batch)
            Assert.True(TestTensors.Identical(batch.ThresholdL, ((BatchTopKSae)resumed.Sae).ThresholdL));
        // metrics.jsonl has each record once, in order.
        var steps = File.ReadAllLines(Path.Combine(runDirectory, "metrics.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToArray();
        Assert.Equal([7L, 14, 21, 28, 35, 40], steps);
    }

    private static readonly string[] CheckpointFiles = ["cfg.json", "sae_weights.safetensors", "training_state.safetensors"];

    private static Dictionary<string, byte[]> Files(string directory) =>
        CheckpointFiles.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(directory, f)));

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    [Fact]
    public async Task SaeTrainer_KilledBetweenCheckpointFiles_ResumesFromOneConsistentStep()
    {
        var saeConfig = new SaeConfig(8, 16, new TopKArchitecture(2));
        var trainConfig = new TrainConfig { Steps = 20, BatchSize = 32, Seed = 3, LogEvery = 5, CheckpointEvery = 0, InitSampleRows = 64 };
        var sourceConfig = new SyntheticSourceConfig(8, 24, 2) { Seed = 4 };
        var run = Path.Combine(_directory, "run");
        using (var source = new SyntheticActivationSource(sourceConfig))
        using (var trainer = new SaeTrainer(saeConfig, trainConfig, new TrainerOptions { OutputDirectory = run }))
        using (var cancellation = new CancellationTokenSource())
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => trainer.TrainAsync(source, new StopAt(10, cancellation), cancellation.Token));
        var atStep10 = Path.Combine(_directory, "step10");
        CopyFolder(run, atStep10);
        using (var source = new SyntheticActivationSource(sourceConfig))
        using (var resumed = SaeTrainer.Resume(run))
            await resumed.TrainAsync(source);
        var step20 = Files(run);

        // Killed after the commit record of step 20, with only cfg.json moved into place: the resume finishes the move.
        var afterCommit = Path.Combine(_directory, "after-commit");
        CopyFolder(atStep10, afterCommit);
        var pending = SaeSharp.IO.CheckpointCommit.Prepare(afterCommit, 20, staging =>
        {
            foreach (var f in CheckpointFiles) File.Copy(Path.Combine(run, f), Path.Combine(staging, f));
        });
        File.Move(Path.Combine(afterCommit, pending.StagingName, "cfg.json"), Path.Combine(afterCommit, "cfg.json"), overwrite: true);
        File.WriteAllText(Path.Combine(afterCommit, ".training_state.safetensors.1234.abcd.tmp"), "torn");
        using (var recovered = SaeTrainer.Resume(afterCommit))
            Assert.Equal(20, recovered.Step);
        Assert.All(CheckpointFiles, f => Assert.Equal(step20[f], File.ReadAllBytes(Path.Combine(afterCommit, f))));
        Assert.Equal(["cfg.json", "checkpoint.json", "metrics.jsonl", "sae_weights.safetensors", "training_state.safetensors"], Directory.GetFileSystemEntries(afterCommit).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // Killed while staging step 20, before its commit record: step 10 stays whole and the staging folder goes.
        var beforeCommit = Path.Combine(_directory, "before-commit");
        CopyFolder(atStep10, beforeCommit);
        var step10 = Files(beforeCommit);
        var staged = Directory.CreateDirectory(Path.Combine(beforeCommit, ".checkpoint-20.tmp")).FullName;
        File.Copy(Path.Combine(run, "cfg.json"), Path.Combine(staged, "cfg.json"));
        using (var recovered = SaeTrainer.Resume(beforeCommit))
            Assert.Equal(10, recovered.Step);
        Assert.All(CheckpointFiles, f => Assert.Equal(step10[f], File.ReadAllBytes(Path.Combine(beforeCommit, f))));
        Assert.False(Directory.Exists(staged));
    }

    [Fact]
    public void SaeTrainer_NewRunIntoFolderHoldingAnSae_RefusesWithoutOverwrite()
    {
        var saeConfig = new SaeConfig(4, 8, new TopKArchitecture(2));
        using var sae = Sae.Create(saeConfig, 0);
        SaeSharp.IO.SaeCheckpoint.Save(sae, _directory);
        var error = Assert.Throws<SaeSharpException>(() => new SaeTrainer(saeConfig, new TrainConfig(), new TrainerOptions { OutputDirectory = _directory }));
        // The library names its own option; the tool maps it to --force.
        Assert.Contains("`overwrite`", error.Message);
        Assert.DoesNotContain("--", error.Message);
    }

    [Fact]
    public async Task SaeTrainer_NaNInActivations_StopsWithClearErrorAndKeepsLastCheckpoint()
    {
        var saeConfig = new SaeConfig(4, 8, new TopKArchitecture(2));
        var trainConfig = new TrainConfig { Steps = 10, BatchSize = 8, CheckpointEvery = 2, InitSampleRows = 8, LogEvery = 1 };
        var rows = TorchSharp.torch.randn(64, 4);
        rows[50, 1] = TorchSharp.torch.tensor(float.NaN);
        using var source = new InMemoryActivationSource(rows, shuffle: false);
        using var trainer = new SaeTrainer(saeConfig, trainConfig, new TrainerOptions { OutputDirectory = _directory });

        var error = await Assert.ThrowsAsync<SaeSharpException>(() => trainer.TrainAsync(source));
        Assert.Contains("48..55", error.Message);
        Assert.Contains("NaN", error.Message);
        Assert.Equal(6, trainer.Step);
        var metadata = SaeSharp.IO.SafeTensorsFile.Read(Path.Combine(_directory, "training_state.safetensors")).Metadata;
        Assert.Equal("6", metadata["step"]);
        using var kept = SaeSharp.IO.SaeCheckpoint.Load(_directory);
        Assert.Equal(saeConfig.Architecture, kept.Config.Architecture);
    }

    [Fact]
    public void SaeEvaluator_RowHoldsNaN_StopsNamingTheRowInsteadOfReportingNaNMetrics()
    {
        using var sae = Sae.Create(new SaeConfig(4, 8, new TopKArchitecture(2)), 0);
        using var rows = TorchSharp.torch.randn(64, 4);
        using (var nan = float.NaN.ToScalar())
            rows[37, 2].fill_(nan);
        using var source = new InMemoryActivationSource(rows, shuffle: false);
        var error = Assert.Throws<SaeSharpException>(() => SaeSharp.Evaluation.SaeEvaluator.Evaluate(sae, source, batches: 2, batchSize: 32));
        Assert.Contains("rows 32..63 contains NaN or infinite values, first in row 37", error.Message);
        Assert.Equal("activations", error.Field);
    }

    /// <summary>Cancels once the given step has completed (progress is reported after every step).</summary>
    private sealed class StopAt(long step, CancellationTokenSource cancellation) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value)
        {
            if (value.Step == step) cancellation.Cancel();
        }
    }
}
