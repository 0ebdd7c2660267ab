using SaeSharp.Throughput;
using BenchmarkDotNet.Attributes;
using SaeSharp.Training;
using SaeSharp.Training.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Benchmarks;

/// <summary>
/// One TopK training step, autograd (baseline) against fused, beside the ceiling measured in the same
/// process: the encoder's dense product alone at the same shape. Each operation is one 4096-token step,
/// reported per token (<c>OperationsPerInvoke</c>), so tokens/s = 1 / (time per op).
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBench
{
    const int Batch = 4096;

    /// <summary>d × m × k (batch 4096).</summary>
    [Params("768x16384x32", "128x1024x16")]
    public string Shape { get; set; } = "128x1024x16";

    Tensor xBD = null!, wEncLD = null!, preBL = null!, wEncDL = null!;
    AutogradTrainingStep autograd = null!;
    FusedTopKTrainingStep fused = null!;
    StepSettings settings = null!;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x').Select(int.Parse).ToArray();
        var shape = new ThroughputShape(parts[0], parts[1], parts[2], Batch);
        var generator = new Generator(1234);
        var (wEnc, bEnc, wDec, bDec) = ThroughputRunner.InitialParameters(shape, generator);
        xBD = randn([Batch, shape.D], generator: generator).DetachFromDisposeScope();
        wEncLD = wEnc;
        wEncDL = wEnc.t();
        preBL = empty(Batch, shape.M);
        // Both are the trainer's own steps, each on its copy of the same SAE.
        autograd = new AutogradTrainingStep(ThroughputRunner.Sae(shape, wEnc, bEnc, wDec, bDec));
        fused = new FusedTopKTrainingStep(ThroughputRunner.Sae(shape, wEnc, bEnc, wDec, bDec));
        settings = new StepSettings(1e-4, 0, zeros(shape.M, ScalarType.Bool), 1.0 / 32, shape.D / 2);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void Autograd()
    {
        using var scope = NewDisposeScope();
        autograd.Step(xBD, settings).Dispose();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void Fused()
    {
        using var scope = NewDisposeScope();
        fused.Step(xBD, settings).Dispose();
    }

    /// <summary>The ceiling: [B, d] × [d, m] into a reused buffer, nothing else.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void EncoderProductCeiling() => preBL.addmm_(xBD, wEncDL, beta: 0, alpha: 1);

    [GlobalCleanup]
    public void Cleanup()
    {
        autograd.Dispose(); fused.Dispose();
        xBD.Dispose(); wEncLD.Dispose(); wEncDL.Dispose(); preBL.Dispose();
    }
}
