using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Hosts;

[Collection("Torch")]
public sealed class LanguageModelTrainerTests
{
    private static HostConfig Tiny => HostConfig.GptNeo(vocabSize: 12, contextLength: 16, modelDim: 16, headCount: 2, layerCount: 2, window: 4);

    /// <summary>Sequences with structure to learn: a start token s, then s+1, s+2, ... mod 11, of varied lengths; 11 ends each.</summary>
    private static List<long[]> Counting(int count, int seed)
    {
        var random = new Random(seed);
        var result = new List<long[]>();
        for (int i = 0; i < count; i++)
        {
            int start = random.Next(11), length = random.Next(3, 12);
            result.Add(Enumerable.Range(0, length).Select(t => (long)((start + t) % 11)).Append(11).ToArray());
        }
        return result;
    }

    private static readonly LanguageModelTrainOptions Options = new() { Steps = 60, BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 5, LogEvery = 10, Seed = 3 };

    [Fact]
    public void Train_SameSeeds_IdenticalWeights()
    {
        var data = Counting(64, seed: 1);
        using var a = new HostTransformer(Tiny, seed: 7);
        using var b = new HostTransformer(Tiny, seed: 7);
        new LanguageModelTrainer(Options).Train(a, data);
        new LanguageModelTrainer(Options).Train(b, data);
        foreach (var ((name, x), (_, y)) in a.NamedWeights().Zip(b.NamedWeights()))
            Assert.True(x.equal(y).all().item<bool>(), name);
        using var c = new HostTransformer(Tiny, seed: 7);
        new LanguageModelTrainer(Options with { Seed = 4 }).Train(c, data);
        Assert.False(a.NamedWeights()[0].Tensor.equal(c.NamedWeights()[0].Tensor).all().item<bool>(), "another batch order gives other weights");
    }

    [Fact]
    public void Train_CountingSequences_HeldOutLossFallsFarBelowUniform()
    {
        var train = Counting(128, seed: 1);
        var heldOut = Counting(32, seed: 2);
        using var model = new HostTransformer(Tiny, seed: 7);
        var before = LanguageModelTrainer.Evaluate(model, heldOut);
        var reports = new List<LanguageModelProgress>();
        var result = new LanguageModelTrainer(Options with { Steps = 150 }).Train(model, train, new SyncProgress(reports.Add));
        var after = LanguageModelTrainer.Evaluate(model, heldOut);
        Assert.Equal(heldOut.Sum(s => s.Length - 1), after.Tokens);
        Assert.True(before.MeanLoss > 2.0, $"an untrained model is near uniform over 12 tokens (ln 12 = 2.48): {before.MeanLoss}");
        // Only each sequence's first token is unpredictable (ln 11 ≈ 2.4 on ~1 in 7.5 positions): ≈ 0.35 is the floor.
        Assert.True(after.MeanLoss < 0.8, $"held-out loss after training: {after.MeanLoss}");
        Assert.Equal(15, reports.Count);
        Assert.Equal(150, reports[^1].Step);
        Assert.All(reports, r => Assert.Equal(150, r.TotalSteps));
        Assert.Equal(result.Tokens, reports[^1].Tokens);
        Assert.True(reports[^1].Loss < reports[0].Loss);
    }

    [Fact]
    public void Evaluate_EqualsPerSequenceLossesUnbatched()
    {
        var data = Counting(9, seed: 5);
        using var model = new HostTransformer(Tiny, seed: 2);
        var batched = LanguageModelTrainer.Evaluate(model, data, batchSize: 4);
        double sum = 0;
        using (no_grad())
            foreach (var s in data)
            {
                using var ids = tensor(s[..^1], [1, s.Length - 1]);
                using var targets = tensor(s[1..]);
                using var logits = model.forward(ids);
                using var loss = nn.functional.cross_entropy(logits.squeeze(0), targets, reduction: nn.Reduction.Sum);
                sum += loss.item<float>();
            }
        Assert.Equal(sum / data.Sum(s => s.Length - 1), batched.MeanLoss, 4);
    }

    [Fact]
    public void Train_Cancelled_StopsWithOperationCanceled()
    {
        using var model = new HostTransformer(Tiny, seed: 2);
        using var cancellation = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.Step == 10) cancellation.Cancel(); });
        Assert.Throws<OperationCanceledException>(() =>
            new LanguageModelTrainer(Options).Train(model, Counting(16, 1), progress, cancellation.Token));
    }

    [Fact]
    public void Train_BadInput_OneClearError()
    {
        using var model = new HostTransformer(Tiny, seed: 2);
        var trainer = new LanguageModelTrainer(Options);
        Assert.Contains("empty", Assert.Throws<SaeSharpException>(() => trainer.Train(model, [])).Message);
        Assert.Contains("outside", Assert.Throws<SaeSharpException>(() => trainer.Train(model, [[1, 12]])).Message);
        Assert.Contains("at least 2", Assert.Throws<SaeSharpException>(() => trainer.Train(model, [[1]])).Message);
        Assert.Contains("context", Assert.Throws<SaeSharpException>(() => trainer.Train(model, [new long[18]])).Message);
        Assert.Equal("Steps", Assert.Throws<SaeSharpException>(() => new LanguageModelTrainer(Options with { Steps = 0 })).Field);
    }

    [Fact]
    public void LearningRateAt_WarmsUpThenDecaysToTheFinalFraction()
    {
        var options = new LanguageModelTrainOptions { Steps = 100, WarmupSteps = 10, LearningRate = 1.0, FinalLearningRateFraction = 0.1 };
        Assert.Equal(0.1, options.LearningRateAt(0), 12);
        Assert.Equal(1.0, options.LearningRateAt(9), 12);
        Assert.Equal(1.0, options.LearningRateAt(10), 12);
        Assert.Equal(0.1, options.LearningRateAt(99), 12);
        Assert.True(options.LearningRateAt(50) is > 0.1 and < 1.0);
    }

    private sealed class SyncProgress(Action<LanguageModelProgress> report) : IProgress<LanguageModelProgress>
    {
        public void Report(LanguageModelProgress value) => report(value);
    }
}
