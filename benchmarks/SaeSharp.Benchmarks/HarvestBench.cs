using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.ML.OnnxRuntime;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Benchmarks;

/// <summary>
/// Harvest throughput: one batch through the host model in TorchSharp (full forward, the baseline), through ONNX
/// Runtime (full forward, logits out) and through the harvest path (<see cref="OnnxHost"/>: only the hook tensor
/// out, so the runtime drops the unembedding, rows copied out without padding). Hosts: the modular-addition model
/// (1024 inputs `a b =`) and a GPT-Neo the size of TinyStories-33M (random weights, our exporter; 8 × 128 tokens).
/// Both runtimes get the same thread count.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessMonitoring))]
public class HarvestBench
{
    /// <summary>In process: BenchmarkDotNet's generated child project would lack the native libtorch reference.</summary>
    public sealed class InProcessMonitoring : ManualConfig
    {
        public InProcessMonitoring() => AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(8));
    }

    [Params("modadd", "tinystories33m")]
    public string Host { get; set; } = "modadd";

    [Params(2)]
    public int Threads { get; set; }

    private HostTransformer _model = null!;
    private Tensor _idsBT = null!;
    private int[][] _sequences = null!;
    private InferenceSession _full = null!;
    private OrtValue _ortIds = null!;
    private OnnxHost _harvest = null!;
    private string _dir = "";

    /// <summary>Tokens in one batch (divide by the mean time for tokens per second).</summary>
    public int TokensPerBatch => _sequences.Sum(s => s.Length);

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        var config = Host == "modadd" ? HostConfig.ModularAddition() : HostConfig.TinyStories33M;
        _model = new HostTransformer(config, seed: 1);
        _model.eval();
        var rng = new Random(2);
        _sequences = Host == "modadd"
            ? Enumerable.Range(0, 1024).Select(_ => new[] { rng.Next(113), rng.Next(113), 113 }).ToArray()
            : Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, 128).Select(_ => rng.Next(config.VocabSize)).ToArray()).ToArray();
        var flat = _sequences.SelectMany(s => s.Select(i => (long)i)).ToArray();
        long[] shape = { _sequences.Length, _sequences[0].Length };
        _idsBT = tensor(flat, shape);
        _ortIds = OrtValue.CreateTensorValueFromMemory(flat, shape);

        _dir = Path.Combine(Path.GetTempPath(), "saesharp-harvest-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, Host + ".onnx");
        OnnxExporter.Export(_model, path);
        using var options = new SessionOptions { IntraOpNumThreads = Threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _full = new InferenceSession(path, options);
        var hook = HookFinder.Resolve(OnnxGraph.Load(path), new[] { $"resid_post.{config.LayerCount - 1}" });
        _harvest = OnnxHost.Open(path, hook, new OnnxHostOptions { IntraOpThreads = Threads });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _harvest.Dispose();
        _full.Dispose();
        _ortIds.Dispose();
        _idsBT.Dispose();
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public float TorchForward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = _model.forward(_idsBT);
        return logits[0, 0, 0].item<float>();
    }

    [Benchmark]
    public float OnnxForward()
    {
        using var outputs = _full.Run(new RunOptions(), new[] { "input_ids" }, new[] { _ortIds }, new[] { "logits" });
        return outputs[0].GetTensorDataAsSpan<float>()[0];
    }

    [Benchmark]
    public float OnnxHarvest() => _harvest.Run(_sequences)[0][0];
}
