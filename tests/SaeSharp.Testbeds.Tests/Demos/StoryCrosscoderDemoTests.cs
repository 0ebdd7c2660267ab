using SaeSharp.Harvest.Store;
using SaeSharp.Testbeds.Demos;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Tests.Demos;

/// <summary>The base-vs-distilled crosscoder pipeline end to end on the quick (tiny, weak) pair: it runs, and its parts fit together.</summary>
[Collection("Torch")]
public sealed class StoryCrosscoderDemoTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("saesharp-xc-stories-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Run_Quick_PairCachedStoresAlignedScoresInRange_AlphaZeroIsUnsteered()
    {
        var options = new StoryCrosscoderDemoOptions { OutputDirectory = Path.Combine(_root, "out"), CacheFolder = Path.Combine(_root, "cache"), Quick = true, LatentCount = 64, K = 4 };
        var result = StoryCrosscoderDemo.Run(options);

        // The pair: teacher and distilled folders with their ONNX exports, the reflection words added to the vocabulary.
        foreach (var model in new[] { StoryPair.TeacherFolderName, StoryPair.DistilledFolderName })
            foreach (var file in new[] { "config.json", "model.safetensors", "vocab_map.json", "model.onnx" })
                Assert.True(File.Exists(Path.Combine(result.PairPath, model, file)), $"{model}/{file}");
        Assert.True(File.Exists(Path.Combine(result.PairPath, StoryPair.SummaryFileName)));
        Assert.NotEmpty(result.Pair.AddedTokens);
        Assert.True(result.Pair.GeneratorReflectionRate > 0.05, $"generator reflection rate {result.Pair.GeneratorReflectionRate}");

        // Both stores hold the same tokens, row for row, with the generator's labels.
        StorePairing.Check(result.StorePaths);
        Assert.Equal(StoreLabels.Read(result.StorePaths[0]).Rows, result.Rows);
        Assert.True(StoreLabels.Read(result.StorePaths[1]).Count(StoryLabels.IndexOf("reflection")) > 0);

        Assert.Equal(["l1", "batchtopk"], result.Crosscoders.Select(c => c.Name));
        foreach (var score in result.Crosscoders)
        {
            Assert.Contains(score.Labels, l => l.Reflection);
            Assert.InRange(score.ExclusiveRecall, 0, 1);
            Assert.InRange(score.SharedAccuracy, 0, 1);
            Assert.Equal(score.Labels.Count, score.Confusion.Cast<int>().Sum());
            Assert.Equal(score.Live, score.Shared + score.BaseOnly + score.DistilledOnly);
        }
        Assert.InRange(result.Permuted.DistilledOnlyWithLabelMatch, 0, result.Permuted.DistilledOnly);

        // Steering: α = 0 is the unsteered rate exactly (same prompts, same draws, a hook that adds zeros).
        var zero = Assert.Single(result.Steering.Rates, r => r.Alpha == 0);
        Assert.Equal(result.Steering.UnsteeredRate, zero.Rate);
        Assert.Equal(options.SteeringAlphas, result.Steering.Rates.Select(r => r.Alpha));
        Assert.All(result.Steering.Rates, r => Assert.True(r.Sentences > 0));

        var html = File.ReadAllText(result.DashboardPath);
        Assert.Contains("decoder norm base", html, StringComparison.Ordinal);

        // A second run loads the pair from the cache.
        var pairSummary = File.ReadAllText(Path.Combine(result.PairPath, StoryPair.SummaryFileName));
        using (var again = StoryPair.LoadOrTrain(options.Pair, options.CacheFolder))
        {
            Assert.True(again.FromCache);
            Assert.Equal(result.Pair.AddedTokens, again.Summary.AddedTokens);
            Assert.Equal(result.Pair.TeacherLoss, again.Summary.TeacherLoss);
        }
        Assert.Equal(pairSummary, File.ReadAllText(Path.Combine(result.PairPath, StoryPair.SummaryFileName)));
    }
}
