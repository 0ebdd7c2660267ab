using SaeSharp.Testbeds.ModularAddition;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Tests.ModularAddition;

[Collection("Torch")]
public sealed class ModAddGroundTruthTests
{
    private const int P = 23;
    private static readonly int[] Waves = [3, 1, 2, 4, 5, 6];

    /// <summary>Activations [p², 6]: column j is cos(2π·Waves[j]·(a + b)/p), rows a·p + b.</summary>
    private static Tensor Activations()
    {
        var values = new float[P * P * Waves.Length];
        for (int a = 0; a < P; a++)
            for (int b = 0; b < P; b++)
                for (int j = 0; j < Waves.Length; j++)
                    values[(a * P + b) * Waves.Length + j] = (float)Math.Cos(2 * Math.PI * Waves[j] * (a + b) / P);
        return tensor(values, [P * P, Waves.Length]);
    }

    [Fact]
    public void Analyze_LatentWhoseKeyFrequencyHoldsATinyShare_IsNotPure()
    {
        // Latent 0 reads frequency 3 alone; latent 1 mixes six frequencies, 3 barely the largest (1.21 / 6.21 ≈ 19.5% of
        // its variance). A large bias keeps both ReLUs linear, so the shares are exact. Only latent 0 is pure: the key
        // frequency being the largest of many is not enough.
        var folder = Directory.CreateTempSubdirectory("saesharp-truth-").FullName;
        File.WriteAllText(Path.Combine(folder, "cfg.json"), """{"architecture": "standard", "d_in": 6, "d_sae": 2}""");
        using (var encoderLD = tensor(new float[] { 1, 0, 0, 0, 0, 0, 1.1f, 1, 1, 1, 1, 1 }, [2, Waves.Length]))
        using (var encoderDL = encoderLD.t().contiguous())
        using (var biasL = tensor(new float[] { 10, 10 }))
        using (var biasD = zeros(Waves.Length))
            SaeSharp.IO.SafeTensorsFile.Write(Path.Combine(folder, "sae_weights.safetensors"),
                [("W_enc", encoderDL), ("W_dec", encoderLD), ("b_enc", biasL), ("b_dec", biasD)]);
        using var sae = SaeSharp.IO.SaeCheckpoint.Load(folder);
        Directory.Delete(folder, recursive: true);
        using var activations = Activations();
        var truth = ModAddGroundTruth.Analyze(sae, activations, P, [3]);

        Assert.Equal(0.2, truth.DominanceThreshold);
        Assert.Equal(2, truth.LiveLatents.Count);
        var mixed = truth.LiveLatents.Single(l => l.Latent == 1);
        Assert.Equal(3, mixed.DominantFrequency);
        Assert.Equal(1.21 / 6.21, mixed.DominantShare, 3);
        Assert.False(mixed.Pure);
        Assert.True(truth.LiveLatents.Single(l => l.Latent == 0).Pure);
        Assert.Equal(0.5, truth.Purity);
        // Random directions through activations of which 1/6 is the key wave: some, not all, are pure.
        Assert.InRange(truth.BaselinePurity, 0.0, 1.0);
        Assert.Equal(truth.BaselinePurity, ModAddGroundTruth.Analyze(sae, activations, P, [3]).BaselinePurity);
    }
}
