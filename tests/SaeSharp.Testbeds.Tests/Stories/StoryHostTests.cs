using SaeSharp.Harvest.Onnx;
using SaeSharp.Hosts;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Tests.Stories;

/// <summary>The story host recipe on a tiny, quickly trained host: the folder it writes and the checks the issue asks for.</summary>
[Collection("Torch")]
public sealed class StoryHostTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("saesharp-stories-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Seconds of training: 2 layers of width 32, 40 steps of 8 stories.</summary>
    internal static StoryHostOptions Tiny => new()
    {
        Seed = 3, TrainStories = 160, HeldOutStories = 12, ConsistencyPrompts = 9, Layers = 2, ModelDim = 32, Heads = 2, Window = 8,
        Training = new LanguageModelTrainOptions { Steps = 40, BatchSize = 8, LearningRate = 5e-3, WarmupSteps = 5 },
    };

    [Fact]
    public void Train_TinyHost_OnnxLossOnHeldOutTextMatchesValLoss_AndFolderIsComplete()
    {
        var folder = Path.Combine(_root, "host");
        using var host = StoryHostCache.LoadOrTrain(Tiny, folder);
        var s = host.Summary;
        Assert.False(host.FromCache);
        // The acceptance check: ONNX Runtime on heldout_stories.txt re-tokenized with GPT-2's tokenizer, against val_loss.
        Assert.True(Math.Abs(s.OnnxValLoss - s.ValLoss) < 1e-3, $"ONNX {s.OnnxValLoss} vs TorchSharp {s.ValLoss}");
        var again = StoryHost.OnnxValLoss(host.OnnxPath, Path.Combine(folder, StoryHost.HeldOutFileName));
        Assert.Equal(s.HeldOutTokens, again.Tokens);
        Assert.Equal(s.OnnxValLoss, again.MeanLoss, 10);
        // Trained, but far from converged: below uniform over the vocabulary, above zero.
        Assert.InRange(s.ValLoss, 0.1, Math.Log(s.VocabularySize) - 0.5);
        Assert.Equal(["phrase", "pronoun", "speaker"], s.ConsistencyByKind.Keys.Order());
        Assert.InRange(s.ConsistencyAccuracy, 0, 1);
        Assert.Equal(12, StoryHost.ReadHeldOut(Path.Combine(folder, StoryHost.HeldOutFileName)).Count);

        foreach (var file in new[] { "config.json", "model.safetensors", "vocab_map.json", "heldout_stories.txt", "model.onnx", "story_host.json" })
            Assert.True(File.Exists(Path.Combine(folder, file)), file);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_root), p => Path.GetFileName(p).StartsWith('.'));
        using var loaded = GptNeoFolder.Load(folder);
        Assert.Equal(host.Model.Config, loaded.Config);
        var vocabulary = CompactVocabulary.Load(Path.Combine(folder, CompactVocabulary.FileName));
        Assert.Equal(GptNeoFolder.EndOfTextId, vocabulary.UnknownId);
        Assert.Equal(HookFinder.Find(OnnxGraph.Load(host.OnnxPath)).Count(h => h.Kind == "resid_post"), Tiny.Layers);

        using var cached = StoryHostCache.LoadOrTrain(Tiny, folder);
        Assert.True(cached.FromCache);
        Assert.Equal(s.ValLoss, cached.Summary.ValLoss);
        // Another seed is another run: the folder is not silently replaced.
        var refused = Assert.Throws<SaeSharpException>(() => StoryHostCache.LoadOrTrain(Tiny with { Seed = 4 }, folder));
        Assert.Contains("overwrite", refused.Message);
        Assert.True(StoryHostCache.LoadOrTrain(Tiny, folder).FromCache, "the refused call left the folder as it was");
    }

    [Fact]
    public void LoadOrTrain_Cancelled_LeavesNothingBehind()
    {
        var folder = Path.Combine(_root, "cancelled");
        using var cancellation = new CancellationTokenSource();
        var progress = new Stop(cancellation);
        Assert.ThrowsAny<OperationCanceledException>(() => StoryHostCache.LoadOrTrain(Tiny, folder, progress: progress, cancellationToken: cancellation.Token));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Fact]
    public void EntryName_HoldsRecipeVersionAndSeed_AndHashesOtherOptions()
    {
        Assert.Equal($"stories-v{StoryHost.RecipeVersion}-seed0", StoryHostCache.EntryName(new StoryHostOptions()));
        Assert.Equal($"stories-v{StoryHost.RecipeVersion}-seed7", StoryHostCache.EntryName(new StoryHostOptions { Seed = 7 }));
        Assert.StartsWith($"stories-v{StoryHost.RecipeVersion}-seed3-", StoryHostCache.EntryName(Tiny));
        Assert.NotEqual(StoryHostCache.EntryName(Tiny), StoryHostCache.EntryName(Tiny with { Training = Tiny.Training with { Steps = 41 } }));
    }

    private sealed class Stop(CancellationTokenSource source) : IProgress<LanguageModelProgress>
    {
        public void Report(LanguageModelProgress value)
        {
            if (value.Step >= 10) source.Cancel();
        }
    }
}
