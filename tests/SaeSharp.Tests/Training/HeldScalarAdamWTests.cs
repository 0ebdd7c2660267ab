using SaeSharp.Hosts;
using SaeSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training;

/// <summary>HeldScalarAdamW must be TorchSharp's AdamW bit for bit, with its state file, only without the implicit Scalars.</summary>
[Collection("Torch")]
public sealed class HeldScalarAdamWTests
{
    private static HostConfig Config => HostConfig.GptNeo(vocabSize: 30, contextLength: 10, modelDim: 16, headCount: 2, layerCount: 2, window: 3);

    /// <summary>Steps of next-token training with a changing learning rate, as the host trainers drive it.</summary>
    private static void Train(HostTransformer model, optim.Optimizer optimizer, int fromStep, int toStep)
    {
        for (int step = fromStep; step < toStep; step++)
        {
            using var scope = NewDisposeScope();
            foreach (var group in optimizer.ParamGroups) group.LearningRate = 3e-3 * (step + 1) / 25;
            var ids = randint(0, 30, [4, 10], dtype: ScalarType.Int64, generator: new Generator(100UL + (ulong)step));
            var logits = model.forward(ids.narrow(1, 0, 9));
            var loss = nn.functional.cross_entropy(logits.reshape(-1, 30), ids.narrow(1, 1, 9).reshape(-1));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
    }

    private static void AssertSameWeights(HostTransformer expected, HostTransformer actual)
    {
        var a = expected.NamedWeights();
        var b = actual.NamedWeights();
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
            Assert.True(a[i].Tensor.eq(b[i].Tensor).all().item<bool>(), $"{a[i].Name} differs");
    }

    [Fact]
    public void Steps_AreBitIdenticalToTorchSharpsAdamW()
    {
        using var stock = new HostTransformer(Config, seed: 5);
        using var held = new HostTransformer(Config, seed: 5);
        using var stockOptimizer = optim.AdamW(stock.parameters(), 3e-3, 0.9, 0.98, eps: 1e-8, weight_decay: 0.1);
        using var heldOptimizer = new HeldScalarAdamW(held.parameters(), 3e-3, 0.9, 0.98, 1e-8, 0.1);
        Train(stock, stockOptimizer, 0, 25);
        Train(held, heldOptimizer, 0, 25);
        AssertSameWeights(stock, held);
        using var untrained = new HostTransformer(Config, seed: 5);
        Assert.False(untrained.NamedWeights()[0].Tensor.eq(held.NamedWeights()[0].Tensor).all().item<bool>(), "training must move the weights");
    }

    [Fact]
    public void StateDict_SavedMidRun_ResumesToTheSameWeights()
    {
        var folder = Directory.CreateTempSubdirectory("adamw-");
        try
        {
            using var straight = new HostTransformer(Config, seed: 6);
            using var straightOptimizer = new HeldScalarAdamW(straight.parameters(), 3e-3, weightDecay: 0.1);
            Train(straight, straightOptimizer, 0, 20);

            var statePath = Path.Combine(folder.FullName, "optimizer.bin");
            var weightsPath = Path.Combine(folder.FullName, "model.safetensors");
            using (var first = new HostTransformer(Config, seed: 6))
            {
                using var firstOptimizer = new HeldScalarAdamW(first.parameters(), 3e-3, weightDecay: 0.1);
                Train(first, firstOptimizer, 0, 8);
                first.SaveSafeTensors(weightsPath);
                firstOptimizer.save_state_dict(statePath);
            }
            using var resumed = HostTransformer.FromSafeTensors(weightsPath, Config);
            using var resumedOptimizer = new HeldScalarAdamW(resumed.parameters(), 3e-3, weightDecay: 0.1);
            resumedOptimizer.load_state_dict(statePath);
            Train(resumed, resumedOptimizer, 8, 20);
            AssertSameWeights(straight, resumed);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
