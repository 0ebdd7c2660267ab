using BenchmarkDotNet.Attributes;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Hosts;
using SaeSharp.Testbeds.Stories;
using static TorchSharp.torch;

namespace SaeSharp.Benchmarks;

/// <summary>
/// The story host's throughput (issue 12): an untrained GPT-Neo of exactly the <see cref="StoryHostOptions"/> recipe's
/// shape (4 layers, width 128, 4 heads, window 32, context 256, compact vocabulary of the generated stories' GPT-2 ids),
/// on one batch of 16 generated stories (the recipe's training batch). Times are per batch: divide
/// <see cref="TokensPerBatch"/> (real tokens, padding not counted) by the mean for tokens per second.
/// <list type="bullet">
/// <item><see cref="TrainStep"/>: one <see cref="LanguageModelTrainer"/> step (forward, backward, AdamW, clipping).</item>
/// <item><see cref="TorchHarvest"/> (baseline) against <see cref="OnnxHarvest"/>: the forward reading one residual hook,
/// in TorchSharp (<see cref="HostTransformer.Forward"/> with <see cref="HostHooks.Capture"/>, compact ids) and through
/// ONNX Runtime (<see cref="OnnxHost"/> on our export with the GPT-2-id lookup, GPT-2 ids), same threads, at the story
/// demo's hook <c>resid_post.2</c> and (the <c>LastBlock</c> pair) at <c>resid_post.3</c>, where both runtimes run every block.</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
[Config(typeof(HarvestBench.InProcessMonitoring))]
public class StoryHostBench
{
    const int Batch = 16;

    [Params(2)]
    public int Threads { get; set; }

    /// <summary>
    /// The story demo's default hook, the output of block 2 of 4: ONNX Runtime's graph, cut down to the hook, skips
    /// block 3 and the unembedding, which TorchSharp's forward still runs.
    /// </summary>
    private static readonly string Hook = HostHooks.ResidPost(2), LastHook = HostHooks.ResidPost(3);

    private HostTransformer _model = null!;
    private LanguageModelTrainer _trainer = null!;
    private long[][] _compact = null!;
    private int[][] _gpt2 = null!;
    private Tensor _idsBT = null!;
    private OnnxHost _onnx = null!, _onnxLast = null!;
    private string _dir = "";

    /// <summary>Real (unpadded) tokens in one batch; a training step predicts one fewer per story.</summary>
    public int TokensPerBatch => _gpt2.Sum(s => s.Length);

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        var options = new StoryHostOptions();
        // The recipe's own vocabulary comes from its 12,000 training stories; 2,000 of them give nearly the same ids.
        var stories = new StoryGenerator(new StoryGeneratorOptions { Seed = options.Seed }).Generate(2000);
        var vocabulary = CompactVocabulary.FromSequences(stories.Select(s => s.TokenIds), 50257, GptNeoFolder.EndOfTextId);
        var batch = stories.Take(Batch).ToArray();
        _gpt2 = batch.Select(s => s.TokenIds.ToArray()).ToArray();
        _compact = batch.Select(s => vocabulary.ToCompact(s.TokenIds)).ToArray();

        _model = new HostTransformer(options.Host(vocabulary.Count), seed: 1);
        _trainer = new LanguageModelTrainer(options.Training with { Steps = 1, WarmupSteps = 0 });
        // Right-padded with index 0 as the trainer pads; the attention is causal, so padding changes no real row.
        int time = _compact.Max(s => s.Length);
        var flat = new long[Batch * time];
        for (int b = 0; b < Batch; b++) Array.Copy(_compact[b], 0, flat, b * time, _compact[b].Length);
        _idsBT = tensor(flat, [Batch, time]);

        _dir = Path.Combine(Path.GetTempPath(), "saesharp-story-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, StoryHost.OnnxFileName);
        _model.eval();
        OnnxExporter.Export(_model, path, new OnnxExportOptions { Vocabulary = vocabulary, AttentionMask = true });
        var graph = OnnxGraph.Load(path);
        _onnx = OnnxHost.Open(path, HookFinder.Resolve(graph, new[] { Hook }), new OnnxHostOptions { IntraOpThreads = Threads });
        _onnxLast = OnnxHost.Open(path, HookFinder.Resolve(graph, new[] { LastHook }), new OnnxHostOptions { IntraOpThreads = Threads });
        Console.WriteLine($"// story host: vocabulary {vocabulary.Count}, {TokensPerBatch} tokens in {Batch} stories (longest {time})");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _onnxLast.Dispose();
        _onnx.Dispose();
        _idsBT.Dispose();
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>
    /// One training step on the batch. Each call is a one-step <see cref="LanguageModelTrainer.Train"/>, so it also
    /// builds the AdamW state (zeros for the 0.9 M parameters: small beside the step); the trainer leaves the model in
    /// eval mode, and the changed weights do not change the harvest paths' cost.
    /// </summary>
    [Benchmark]
    public double TrainStep() => _trainer.Train(_model, _compact).FinalLoss;

    [Benchmark(Baseline = true)]
    public float TorchHarvest() => TorchRead(Hook);

    [Benchmark]
    public float OnnxHarvest() => _onnx.Run(_gpt2)[0][0];

    /// <summary>The last block's output: ONNX Runtime now runs every block too (only the unembedding is pruned).</summary>
    [Benchmark]
    public float TorchHarvestLastBlock() => TorchRead(LastHook);

    [Benchmark]
    public float OnnxHarvestLastBlock() => _onnxLast.Run(_gpt2)[0][0];

    private float TorchRead(string hook)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hooks = new HostHooks().Capture(hook);
        _model.Forward(_idsBT, hooks);
        return hooks.Captured[hook][0, 0, 0].item<float>();
    }
}
