using TorchSharp;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Training.Fused;
using SaeSharp.Training;
using SaeSharp.IO;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Tests;

[Collection("Torch")]
public sealed class CrosscoderTrainerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-crosscoder-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly TrainConfig SmallRun = new()
    {
        Steps = 40, BatchSize = 64, LearningRate = 3e-3, Seed = 5, LogEvery = 7, CheckpointEvery = 0,
        DeadWindowTokens = 320, InitSampleRows = 256, AuxKLatents = 4,
    };

    private static PairedActivationSource Source(Tensor rowsNSD) =>
        PairedActivationSource.FromTensors([PairedData.Source(rowsNSD, 0), PairedData.Source(rowsNSD, 1)], seed: 11);

    [Theory]
    [InlineData(CrosscoderSparsity.L1, TrainingStepKind.Auto)]
    [InlineData(CrosscoderSparsity.BatchTopK, TrainingStepKind.Auto)]
    [InlineData(CrosscoderSparsity.BatchTopK, TrainingStepKind.Autograd)]
    public async Task CrosscoderTrainer_StoppedAndResumed_EndsBitIdenticalToUninterruptedRun(CrosscoderSparsity sparsity, TrainingStepKind stepKind)
    {
        var (rowsNSD, _, _) = PairedData.Create(512, 8, 4, 3, 3, 0.15, seed: 1);
        var config = new CrosscoderConfig { InputDim = 8, LatentCount = 24, Sparsity = sparsity, K = 3 };
        var trainConfig = SmallRun with { StepKind = stepKind };

        using var fullSource = Source(rowsNSD);
        using var full = new CrosscoderTrainer(config, trainConfig);
        // Auto trains BatchTopK with the fused step: its resume must be as exact as autograd's.
        Assert.Equal(sparsity == CrosscoderSparsity.BatchTopK && stepKind == TrainingStepKind.Auto, full.TrainingStep is FusedCrosscoderStep);
        await full.TrainAsync(fullSource);

        var runDirectory = Path.Combine(_directory, $"{sparsity}-{stepKind}");
        using (var stoppedSource = Source(rowsNSD))
        using (var stopped = new CrosscoderTrainer(config, trainConfig, new TrainerOptions { OutputDirectory = runDirectory }))
        using (var cancellation = new CancellationTokenSource())
        {
            var progress = new StopAt(20, cancellation);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stopped.TrainAsync(stoppedSource, progress, cancellation.Token));
            Assert.Equal(20, stopped.Step);
        }
        using var resumedSource = Source(rowsNSD);
        using var resumed = CrosscoderTrainer.Resume(runDirectory);
        Assert.Equal(20, resumed.Step);
        await resumed.TrainAsync(resumedSource);

        Assert.Equal(full.SourceScales, resumed.SourceScales);
        foreach (var ((name, expected), (_, actual)) in full.Crosscoder.TrainableParameters.Zip(resumed.Crosscoder.TrainableParameters))
            Assert.True(expected.eq(actual).all().item<bool>(), $"{name} differs after resume");
        Assert.True(full.Crosscoder.ThresholdL.eq(resumed.Crosscoder.ThresholdL).all().item<bool>());
        // The metrics log holds each record once, in order, across the stop.
        var steps = File.ReadAllLines(Path.Combine(runDirectory, CrosscoderTrainer.MetricsFileName)).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToArray();
        Assert.Equal(new long[] { 7, 14, 21, 28, 35, 40 }, steps);
    }

    [Fact]
    public async Task CrosscoderTrainer_FusedAndAutogradSteps_TrainToTheSameCrosscoder()
    {
        // The trainer hands both steps the same schedule, dead mask and AuxK settings (dead latents appear after
        // 320 rows, so AuxK runs for most of the 30 steps): the runs agree to float32 round-off.
        var (rowsNSD, _, _) = PairedData.Create(512, 8, 4, 3, 3, 0.15, seed: 1);
        var config = new CrosscoderConfig { InputDim = 8, LatentCount = 24, K = 3 };
        var run = SmallRun with { Steps = 30, LogEvery = 30 };
        using var fusedSource = Source(rowsNSD);
        using var fused = new CrosscoderTrainer(config, run with { StepKind = TrainingStepKind.Fused });
        var fusedMetrics = (await fused.TrainAsync(fusedSource)).FinalMetrics;
        using var autogradSource = Source(rowsNSD);
        using var autograd = new CrosscoderTrainer(config, run with { StepKind = TrainingStepKind.Autograd });
        var autogradMetrics = (await autograd.TrainAsync(autogradSource)).FinalMetrics;

        Assert.True(fusedMetrics.AuxKLoss > 0, "AuxK never ran");
        Assert.Equal(autogradMetrics.Loss, fusedMetrics.Loss, 1e-4 * autogradMetrics.Loss);
        Assert.Equal(autogradMetrics.AuxKLoss, fusedMetrics.AuxKLoss, 1e-3 * autogradMetrics.AuxKLoss);
        Assert.Equal(autogradMetrics.L0, fusedMetrics.L0, 1e-9);
        Assert.Equal(autogradMetrics.DeadFraction, fusedMetrics.DeadFraction, 1e-9);
        foreach (var ((name, expected), (_, actual)) in autograd.Crosscoder.TrainableParameters.Zip(fused.Crosscoder.TrainableParameters))
        {
            double relative = actual.sub(expected).norm().item<float>() / expected.norm().item<float>();
            Assert.True(relative < 1e-4, $"{name}: fused and autograd runs differ by {relative:E2} (relative)");
        }
        Assert.True(fused.Crosscoder.ThresholdL.allclose(autograd.Crosscoder.ThresholdL, rtol: 1e-4, atol: 0));
    }

    [Fact]
    public async Task CrosscoderCheckpoint_SaveLoad_RoundTripsBitExact()
    {
        var (rowsNSD, _, _) = PairedData.Create(256, 6, 3, 2, 2, 0.2, seed: 2);
        var config = new CrosscoderConfig { InputDim = 6, LatentCount = 10, K = 2, SourceNames = ["base", "tuned"] };
        using var source = Source(rowsNSD);
        var folder = Path.Combine(_directory, "ckpt");
        using var trainer = new CrosscoderTrainer(config, SmallRun with { Steps = 10 }, new TrainerOptions { OutputDirectory = folder });
        var result = await trainer.TrainAsync(source);

        using var loaded = CrosscoderCheckpoint.Load(folder);
        Assert.Equal(config, loaded.Crosscoder.Config with { SourceNames = config.SourceNames });
        Assert.Equal(["base", "tuned"], loaded.Crosscoder.Config.SourceNames!);
        Assert.Equal(result.SourceScales, loaded.SourceScales);
        Assert.Equal(10, loaded.Step);
        foreach (var ((name, expected), (_, actual)) in trainer.Crosscoder.TrainableParameters.Zip(loaded.Crosscoder.TrainableParameters))
            Assert.True(expected.eq(actual).all().item<bool>(), $"{name} differs after load");
        Assert.True(trainer.Crosscoder.ThresholdL.eq(loaded.Crosscoder.ThresholdL).all().item<bool>());

        // Read back by the independent safetensors reader: the documented names and layouts.
        var contents = SafeTensorsFile.Read(Path.Combine(folder, CrosscoderCheckpoint.WeightsFileName));
        Assert.Equal(new long[] { 2, 6, 10 }, contents.Get("W_enc", "").Shape);
        Assert.Equal(new long[] { 10, 2, 6 }, contents.Get("W_dec", "").Shape);
        Assert.Equal(new long[] { 2, 6 }, contents.Get("b_dec", "").Shape);
        var cfg = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, CrosscoderCheckpoint.ConfigFileName))).RootElement;
        Assert.Equal("saesharp-crosscoder/1", cfg.GetProperty("format").GetString());
        Assert.Equal("BatchTopK", cfg.GetProperty("crosscoder").GetProperty("sparsity").GetString());
    }

    [Fact]
    public void CrosscoderCheckpoint_Load_WrongShape_NamesFileAndField()
    {
        var folder = Path.Combine(_directory, "bad");
        var config = new CrosscoderConfig { InputDim = 4, LatentCount = 6, K = 2 };
        using (var crosscoder = Crosscoder.Create(config, 0))
            CrosscoderCheckpoint.Save(crosscoder, folder, [1.0, 2.0]);
        var cfgPath = Path.Combine(folder, CrosscoderCheckpoint.ConfigFileName);
        File.WriteAllText(cfgPath, File.ReadAllText(cfgPath).Replace("\"d_sae\": 6", "\"d_sae\": 7"));
        var error = Assert.Throws<SaeSharpException>(() => CrosscoderCheckpoint.Load(folder));
        Assert.Equal("W_enc", error.Field);
        Assert.EndsWith(CrosscoderCheckpoint.WeightsFileName, error.FilePath);

        File.WriteAllText(cfgPath, "{ \"format\": \"other\" }");
        Assert.Equal("format", Assert.Throws<SaeSharpException>(() => CrosscoderCheckpoint.Load(folder)).Field);
    }

    [Fact]
    public void CrosscoderCheckpoint_Load_HundredThousandSources_IsRefusedBeforeAllocating()
    {
        var folder = Path.Combine(_directory, "huge");
        var config = new CrosscoderConfig { InputDim = 4, LatentCount = 6, K = 2 };
        using (var crosscoder = Crosscoder.Create(config, 0))
            CrosscoderCheckpoint.Save(crosscoder, folder, [1.0, 2.0]);
        var cfgPath = Path.Combine(folder, CrosscoderCheckpoint.ConfigFileName);
        var scales = string.Join(",", Enumerable.Repeat("1.0", 100_000));
        var text = File.ReadAllText(cfgPath).Replace("\"n_sources\": 2", "\"n_sources\": 100000");
        text = System.Text.RegularExpressions.Regex.Replace(text, "\"source_scales\": \\[[^\\]]*\\]", $"\"source_scales\": [{scales}]");
        File.WriteAllText(cfgPath, text);
        var error = Assert.Throws<SaeSharpException>(() => CrosscoderCheckpoint.Load(folder));
        Assert.Equal("W_enc", error.Field);
        Assert.Contains("100000", error.Message);
    }

    [Fact]
    public void CrosscoderCheckpoint_Load_NonFiniteWeight_NamesFileAndTensor()
    {
        var folder = Path.Combine(_directory, "nan");
        var config = new CrosscoderConfig { InputDim = 4, LatentCount = 6, K = 2 };
        using (var crosscoder = Crosscoder.Create(config, 0))
        {
            using (no_grad())
            using (var nan = float.NaN.ToScalar())
                crosscoder.DecoderBiasSD[1, 2].fill_(nan);
            CrosscoderCheckpoint.Save(crosscoder, folder, [1.0, 2.0]);
        }
        var error = Assert.Throws<SaeSharpException>(() => CrosscoderCheckpoint.Load(folder));
        Assert.Equal("b_dec", error.Field);
        Assert.EndsWith(CrosscoderCheckpoint.WeightsFileName, error.FilePath);
        Assert.Contains("NaN or infinite", error.Message);
    }

    [Theory]
    [InlineData(CrosscoderSparsity.L1)]
    [InlineData(CrosscoderSparsity.BatchTopK)]
    public async Task ModelDiff_SameModelTwice_EveryLiveLatentShared(CrosscoderSparsity sparsity)
    {
        var (rowsNSD, _, _) = PairedData.Create(2048, 12, 10, 0, 0, 0.1, seed: 3);
        var copyNSD = stack([rowsNSD.select(1, 0), rowsNSD.select(1, 0)], 1);
        var config = new CrosscoderConfig { InputDim = 12, LatentCount = 32, Sparsity = sparsity, K = 2 };
        using var source = Source(copyNSD);
        using var trainer = new CrosscoderTrainer(config, SmallRun with { Steps = 300, BatchSize = 256, SparsityCoefficient = 1.0 });
        var result = await trainer.TrainAsync(source);
        Assert.True(result.FinalMetrics.Fvu < 0.5, $"FVU {result.FinalMetrics.Fvu}");

        var diff = ModelDiff.Analyze(trainer.Crosscoder, result.SourceScales, copyNSD);
        var live = diff.Latents.Where(l => l.Class != LatentClass.Dead).ToArray();
        Assert.NotEmpty(live);
        Assert.All(live, l =>
        {
            Assert.Equal(LatentClass.Shared, l.Class);
            Assert.InRange(l.RelativeNorm, 0.45, 0.55);
        });
        Assert.Equal(live.Length, diff.HistogramCounts.Sum());
    }

    [Fact]
    public async Task ModelDiff_PlantedSharedAndExclusiveFeatures_ClassifiedByTheirSources()
    {
        var (rowsNSD, kinds, directionsFSD) = PairedData.Create(4096, 16, 6, 5, 5, 0.08, seed: 4);
        var config = new CrosscoderConfig { InputDim = 16, LatentCount = 48, K = 2 };
        using var source = Source(rowsNSD);
        using var trainer = new CrosscoderTrainer(config, SmallRun with { Steps = 600, BatchSize = 256 });
        var result = await trainer.TrainAsync(source);
        var diff = ModelDiff.Analyze(trainer.Crosscoder, result.SourceScales, rowsNSD);

        // A latent that learned a planted feature has a decoder (both sources side by side) along that feature's
        // directions; its class should be the feature's kind.
        using var noGrad = no_grad();
        var decoderLX = trainer.Crosscoder.DecoderWeights.reshape(48, -1);
        var featuresFX = directionsFSD.reshape(16, -1);
        var cosineLF = decoderLX.div(decoderLX.norm(1, keepdim: true)).matmul(featuresFX.div(featuresFX.norm(1, keepdim: true)).t());
        var (bestL, featureL) = cosineLF.max(1);
        int matched = 0, correct = 0;
        var expected = new[] { LatentClass.Shared, LatentClass.AOnly, LatentClass.BOnly };
        foreach (var latent in diff.Latents.Where(l => l.Class != LatentClass.Dead))
        {
            if (bestL[latent.Index].item<float>() < 0.9) continue;
            matched++;
            if (latent.Class == expected[kinds[featureL[latent.Index].item<long>()]]) correct++;
        }
        Assert.True(matched >= 10, $"only {matched} latents match a planted feature");
        Assert.True(correct >= 0.9 * matched, $"{correct} of {matched} feature latents classified as their feature's kind");
    }

    private sealed class StopAt(long step, CancellationTokenSource cancellation) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value)
        {
            if (value.Step == step) cancellation.Cancel();
        }
    }
}
