using SaeSharp.Analysis;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Analysis;

[Collection("Torch")]
public sealed class SparseProbingTests(ITestOutputHelper output)
{
    private const int D = 16, Rows = 2400;

    /// <summary>
    /// Rows with 16 independent sparse non-negative coordinates and a ReLU SAE whose latents are exactly those
    /// coordinates. Label "one" is coordinate 3 being active (one latent is the label); label "sum" is the sum of all
    /// 16 coordinates above its median (linear in x, but no single latent carries more than a sixteenth of it).
    /// </summary>
    private static (Tensor X, Tensor Labels, Sae Sae) Planted()
    {
        var random = new Random(3);
        var x = new float[Rows * D];
        for (int i = 0; i < x.Length; i++)
            if (random.NextDouble() < 0.3) x[i] = (float)(0.5 + random.NextDouble());
        var sums = Enumerable.Range(0, Rows).Select(r => Enumerable.Range(0, D).Sum(j => (double)x[r * D + j])).ToArray();
        double median = sums.Order().ElementAt(Rows / 2);
        var labels = new float[Rows * 2];
        for (int r = 0; r < Rows; r++)
        {
            labels[r * 2] = x[r * D + 3] > 0 ? 1 : 0;
            labels[r * 2 + 1] = sums[r] > median ? 1 : 0;
        }
        var sae = Sae.Create(new SaeConfig(D, D, new ReluArchitecture()), seed: 1);
        using (no_grad())
        {
            using var identity = eye(D);
            sae.EncoderWeightLD.copy_(identity);
            sae.DecoderWeightLD.copy_(identity);
            sae.EncoderBiasL.zero_();
            sae.DecoderBiasD.zero_();
        }
        return (tensor(x, [Rows, D]), tensor(labels, [Rows, 2]), sae);
    }

    [Fact]
    public void SparseProbing_Run_PlantedLabels_SingleLatentFoundAndDenseLabelNeedsManyLatents()
    {
        var (x, labels, sae) = Planted();
        using (x) using (labels) using (sae)
        {
            var results = SparseProbing.Run(sae, x, labels, ["one", "sum"], new SparseProbingOptions { KValues = [1, 2, 16] });

            foreach (var r in results)
                output.WriteLine($"{r.Label}: baseline {r.BaselineAuroc:F4} (C {r.BaselineInverseRegularization}); {string.Join("; ", r.Sparse.Select(s => $"k={s.K} {s.TestAuroc:F4} [{string.Join(",", s.Latents)}]"))}");
            var one = results[0];
            Assert.Equal("one", one.Label);
            Assert.Equal([3], one.Sparse[0].Latents);
            Assert.True(one.Sparse[0].TestAuroc > 0.99, $"k=1 AUROC {one.Sparse[0].TestAuroc}");
            Assert.True(one.BaselineAuroc > 0.99, $"baseline AUROC {one.BaselineAuroc}");
            Assert.Equal(one.TrainRows / 2, one.TrainRows - one.TrainRows / 2);

            var sum = results[1];
            Assert.True(sum.BaselineAuroc > 0.97, $"baseline AUROC {sum.BaselineAuroc}");
            Assert.True(sum.Sparse[0].TestAuroc < 0.8, $"k=1 AUROC {sum.Sparse[0].TestAuroc}");
            Assert.True(sum.Sparse[2].TestAuroc > 0.97, $"k=16 AUROC {sum.Sparse[2].TestAuroc}");
            Assert.True(sum.Sparse[0].TestAuroc < sum.Sparse[1].TestAuroc + 0.02);
        }
    }

    [Fact]
    public void SparseProbing_Run_LabelsNotAligned_Throws()
    {
        var (x, labels, sae) = Planted();
        using (x) using (labels) using (sae)
        {
            using var shorter = labels.narrow(0, 0, Rows - 1);
            var error = Assert.Throws<SaeSharpException>(() => SparseProbing.Run(sae, x, shorter, ["one", "sum"]));
            Assert.Contains("one row per activation row", error.Message);
        }
    }

    [Fact]
    public void SparseProbing_Run_TooFewPositives_ThrowsNamingLabel()
    {
        var (x, labels, sae) = Planted();
        using (x) using (labels) using (sae)
        {
            using var rare = zeros(Rows, 1);
            rare[0, 0] = tensor(1f);
            rare[1, 0] = tensor(1f);
            var error = Assert.Throws<SaeSharpException>(() => SparseProbing.Run(sae, x, rare, ["rare"]));
            Assert.Contains("\"rare\" has 2 positive", error.Message);
        }
    }

    [Fact]
    public void LogisticProbe_Auroc_TiesAveraged_MatchesTorchAuroc()
    {
        double[] scores = [0.1, 0.4, 0.4, 0.9, 0.2, 0.4, 0.0];
        double[] labels = [0, 1, 0, 1, 0, 1, 1];
        using var s = tensor(scores);
        using var l = tensor(labels);
        Assert.Equal(Auroc.Compute(s, l), Internals.LogisticProbe.Auroc(scores, labels), 12);
    }
}
