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
    public void SparseProbing_Run_MaxTrainRows_CapsBalancedTrainingRows()
    {
        var (x, labels, sae) = Planted();
        using (x) using (labels) using (sae)
        {
            var capped = SparseProbing.Run(sae, x, labels, ["one", "sum"], new SparseProbingOptions { KValues = [1], MaxTrainRows = 200 });
            var uncapped = SparseProbing.Run(sae, x, labels, ["one", "sum"], new SparseProbingOptions { KValues = [1], MaxTrainRows = int.MaxValue });

            Assert.All(capped, r => Assert.Equal(200, r.TrainRows));
            Assert.All(uncapped, r => Assert.True(r.TrainRows > 1000, $"{r.Label}: {r.TrainRows} training rows"));
            // The test rows do not depend on the cap.
            Assert.Equal(uncapped.Select(r => r.TestRows), capped.Select(r => r.TestRows));
            Assert.True(capped[0].Sparse[0].TestAuroc > 0.99, $"k=1 AUROC {capped[0].Sparse[0].TestAuroc} with 200 training rows");
        }
    }

    [Fact]
    public void SparseProbing_Run_IterationLimitReached_KeepsBestIterateAndCountsTheFits()
    {
        var (x, labels, sae) = Planted();
        using (x) using (labels) using (sae)
        {
            // Three L-BFGS iterations cannot fit the 17 parameters of the raw probe of the dense label "sum"; the fits
            // must still return a usable probe rather than fail.
            using var sum = labels.narrow(1, 1, 1);
            var limited = SparseProbing.Run(sae, x, sum, ["sum"], new SparseProbingOptions { KValues = [16], MaxIterations = 3 })[0];
            var full = SparseProbing.Run(sae, x, sum, ["sum"], new SparseProbingOptions { KValues = [16] })[0];

            output.WriteLine($"3 iterations: {limited.FitsAtIterationLimit} fits at the limit, baseline {limited.BaselineAuroc:F4}; full: {full.FitsAtIterationLimit}, {full.BaselineAuroc:F4}");
            Assert.True(limited.FitsAtIterationLimit > 0, "no fit reported at the iteration limit");
            Assert.Equal(0, full.FitsAtIterationLimit);
            Assert.True(limited.BaselineAuroc > 0.9, $"baseline AUROC {limited.BaselineAuroc} after 3 iterations");
        }
    }

    [Fact]
    public void SparseProbingOptions_Validate_MaxTrainRowsBelowTwo_Throws()
    {
        var error = Assert.Throws<SaeSharpException>(() => new SparseProbingOptions { MaxTrainRows = 1 }.Validate());
        Assert.Equal("max_train_rows", error.Field);
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
