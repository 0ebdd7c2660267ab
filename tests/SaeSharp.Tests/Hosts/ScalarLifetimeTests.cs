using SaeSharp.Hosts;
using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Hosts;

/// <summary>
/// The README's demo crashed in host training with libtorch's "Expected false to be true ... toFloat" when a
/// TorchSharp Scalar made implicitly for a call was finalised while libtorch still read it. Under a thread that
/// collects garbage without pause, the hot paths that hold their Scalars must run clean; before they did, a
/// masked_fill with an implicit float.MinValue failed 16 times in 200,000 calls under the same pressure.
/// </summary>
[Collection("Torch")]
public sealed class ScalarLifetimeTests
{
    [Fact]
    public void HostForwardsAndSaeSteps_UnderConstantGarbageCollection_NeverReadAFreedScalar()
    {
        using var modularAddition = new HostTransformer(HostConfig.ModularAddition(7), seed: 1);
        using var neo = new HostTransformer(HostConfig.GptNeo(vocabSize: 40, contextLength: 12, modelDim: 16, headCount: 2, layerCount: 2, window: 3), seed: 2);
        var idsModAdd = tensor(new long[] { 1, 2, 7, 3, 4, 7 }).view(2, 3);
        var idsNeo = randint(0, 40, [2, 8], generator: new Generator(3));
        using var parameter = new TorchSharp.Modules.Parameter(zeros(64), requires_grad: true);
        using var adam = new AdamOptimizer([("p", parameter)]);
        using var adamW = new HeldScalarAdamW(neo.parameters(), 1e-3, weightDecay: 0.1);
        // The SAE's reference steps (forward, loss, AuxK, backward, Adam, decoder constraint) for each architecture.
        SaeArchitecture[] architectures = [new TopKArchitecture(2), new BatchTopKArchitecture(2), new JumpReluArchitecture(), new ReluArchitecture()];
        var saes = architectures.Select((a, i) => Sae.Create(new SaeConfig(8, 16, a), i)).ToArray();
        var steps = saes.Select(sae => new AutogradTrainingStep(sae)).ToArray();
        var xBD = randn(32, 8, generator: new Generator(4));
        var deadL = tensor(Enumerable.Range(0, 16).Select(l => l % 3 == 0).ToArray());
        var settings = new StepSettings(1e-3, 0.1, deadL, 1.0 / 32, 4);

        var stop = false;
        var pressure = new Thread(() =>
        {
            while (!Volatile.Read(ref stop)) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        }) { IsBackground = true };
        pressure.Start();
        try
        {
            for (int i = 0; i < 800; i++)
            {
                using var scope = NewDisposeScope();
                modularAddition.ForwardLastPosition(idsModAdd);
                adamW.zero_grad();
                neo.forward(idsNeo).mean().backward();
                adamW.step();
                parameter.grad = ones(64);
                adam.Step(1e-3);
                foreach (var step in steps) step.Step(xBD, settings).Dispose();
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            pressure.Join();
            foreach (var step in steps) step.Dispose();
            foreach (var sae in saes) sae.Dispose();
        }
    }
}
