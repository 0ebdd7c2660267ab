using SaeSharp.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Analysis;

[Collection("Torch")]
public sealed class LabelScoringTests
{
    private const int Rows = 2000, Latents = 16;

    /// <summary>
    /// Planted ground truth: latent 5 fires exactly on label "a", latent 9 exactly on "b", latent 3 on a random half of
    /// "c"'s rows; no latent follows "d"; "empty" holds nowhere; latent 15 is dead; the rest fire at random.
    /// </summary>
    private static (float[] Activations, float[] Labels, string[] Names) Planted()
    {
        var random = new Random(7);
        string[] names = ["a", "b", "c", "d", "empty"];
        var labels = new float[Rows * names.Length];
        var activations = new float[Rows * Latents];
        for (int r = 0; r < Rows; r++)
        {
            for (int y = 0; y < 4; y++) labels[r * names.Length + y] = random.NextDouble() < 0.15 + 0.05 * y ? 1 : 0;
            for (int j = 0; j < Latents - 1; j++)
                if (random.NextDouble() < 0.2) activations[r * Latents + j] = (float)(0.1 + random.NextDouble());
            activations[r * Latents + 5] = labels[r * names.Length + 0] * (float)(0.5 + random.NextDouble());
            activations[r * Latents + 9] = labels[r * names.Length + 1] * (float)(0.5 + random.NextDouble());
            activations[r * Latents + 3] = labels[r * names.Length + 2] * (random.NextDouble() < 0.5 ? 1f : 0f);
        }
        return (activations, labels, names);
    }

    [Fact]
    public void LabelScoring_Score_PlantedDetectors_FoundAtTheRightLatentsWithF1One()
    {
        var (activations, labelValues, names) = Planted();
        using var latentsNL = tensor(activations, [Rows, Latents]);
        using var labelsNY = tensor(labelValues, [Rows, names.Length]);
        // 300 does not divide 2000: the last batch is short.
        var scores = LabelScoring.Score(LatentActivations.FromTensor(latentsNL, batchSize: 300), labelsNY, names);

        var a = scores.Labels[0];
        Assert.Equal((5, 1.0, 1.0, 1.0, 1.0), (a.BestLatent, a.F1, a.Precision, a.Recall, a.Auroc));
        Assert.Equal(labelValues.Where((v, i) => i % names.Length == 0).Sum(), a.Support);
        Assert.Equal((9, 1.0), (scores.Labels[1].BestLatent, scores.Labels[1].F1));
        var c = scores.Labels[2];
        Assert.Equal(3, c.BestLatent);
        Assert.Equal(1.0, c.Precision);
        Assert.InRange(c.Recall, 0.4, 0.6);
        Assert.True(scores.Labels[3].F1 < 0.5, $"label d, which no latent follows, scored F1 {scores.Labels[3].F1}");
        var empty = scores.Labels[4];
        Assert.Equal((0L, -1, 0.0), (empty.Support, empty.BestLatent, empty.F1));
        Assert.True(double.IsNaN(empty.Auroc));

        var dead = scores.Latents[15];
        Assert.Equal((0.0, -1, 0.0), (dead.Density, dead.BestLabel, dead.F1));
        Assert.Equal((0, 1.0), (scores.Latents[5].BestLabel, scores.Latents[5].F1));
        // Labels a..d have support ≥ 10; a and b are covered.
        Assert.Equal((4, 2, 0.5), (scores.LabelsScored, scores.LabelsCovered, scores.Coverage));

        // The batch size changes nothing.
        var whole = LabelScoring.Score(LatentActivations.FromTensor(latentsNL, batchSize: Rows), labelsNY, names);
        Assert.Equal(scores.Labels, whole.Labels);
        Assert.Equal(scores.Latents, whole.Latents);
    }

    [Fact]
    public void LabelScoring_Score_MatchesAScalarReference()
    {
        // Values on a grid of 0.25 so that ties (and zeros) are common, as in a real SAE code.
        var random = new Random(11);
        const int rows = 600, latents = 12, labelCount = 5;
        var activations = new float[rows * latents];
        var labels = new float[rows * labelCount];
        for (int r = 0; r < rows; r++)
        {
            for (int y = 0; y < labelCount; y++) labels[r * labelCount + y] = random.NextDouble() < 0.1 + 0.1 * y ? 1 : 0;
            for (int j = 0; j < latents; j++)
            {
                bool drive = j < labelCount && labels[r * labelCount + j] == 1;
                if (random.NextDouble() < (drive ? 0.7 : 0.25)) activations[r * latents + j] = random.Next(1, 9) * 0.25f;
            }
        }
        double[] fractions = [0, 0.3, 0.6];
        var options = new LabelScoringOptions { ThresholdFractions = fractions, MinSupport = 5, CoverageF1 = 0.5 };
        using var latentsNL = tensor(activations, [rows, latents]);
        using var labelsNY = tensor(labels, [rows, labelCount]);
        var scores = LabelScoring.Score(LatentActivations.FromTensor(latentsNL, batchSize: 128), labelsNY, [.. Enumerable.Range(0, labelCount).Select(y => $"label {y}")], options);

        double Act(int r, int j) => activations[r * latents + j];
        double Lab(int r, int y) => labels[r * labelCount + y];
        double F1(int j, int y, double threshold)
        {
            double tp = 0, fired = 0, support = 0;
            for (int r = 0; r < rows; r++)
            {
                bool fires = Act(r, j) > threshold;
                fired += fires ? 1 : 0;
                support += Lab(r, y);
                tp += fires && Lab(r, y) == 1 ? 1 : 0;
            }
            return fired + support == 0 ? 0 : 2 * tp / (fired + support);
        }
        double Threshold(int j, double fraction) => (float)fraction * (float)Enumerable.Range(0, rows).Max(r => Act(r, j));
        double BestF1(int j, int y) => fractions.Max(f => F1(j, y, Threshold(j, f)));
        double PairwiseAuroc(int j, int y)
        {
            double wins = 0, pairs = 0;
            for (int p = 0; p < rows; p++)
                for (int n = 0; n < rows; n++)
                    if (Lab(p, y) == 1 && Lab(n, y) == 0)
                    {
                        pairs++;
                        wins += Act(p, j) > Act(n, j) ? 1 : Act(p, j) == Act(n, j) ? 0.5 : 0;
                    }
            return wins / pairs;
        }

        for (int y = 0; y < labelCount; y++)
        {
            var score = scores.Labels[y];
            double best = Enumerable.Range(0, latents).Max(j => BestF1(j, y));
            Assert.Equal(best, score.F1, 12);
            Assert.Equal(best, BestF1(score.BestLatent, y), 12);
            Assert.Equal(score.F1, F1(score.BestLatent, y, score.Threshold), 12);
            Assert.Equal(2 * score.Precision * score.Recall / (score.Precision + score.Recall), score.F1, 12);
            Assert.Equal(PairwiseAuroc(score.BestLatent, y), score.Auroc, 12);
        }
        for (int j = 0; j < latents; j++)
            Assert.Equal(Enumerable.Range(0, labelCount).Max(y => BestF1(j, y)), scores.Latents[j].F1, 12);
        int covered = Enumerable.Range(0, labelCount).Count(y => scores.Labels[y].Support >= 5 && scores.Labels[y].F1 >= 0.5);
        Assert.Equal(covered, scores.LabelsCovered);
    }

    [Fact]
    public void LabelScoring_Score_FromSaeEqualsFromItsEncodedTensor()
    {
        using var sae = Sae.Create(new SaeConfig(8, 24, new TopKArchitecture(3)), seed: 5);
        using var xND = randn(500, 8, generator: new Generator(6));
        using var half = 0.5.ToScalar();
        using var labelsNY = xND.narrow(1, 0, 2).gt(half).to(ScalarType.Float32);
        sae.eval();
        using var latentsNL = sae.Encode(xND);
        string[] names = ["x0 high", "x1 high"];
        var fromTensor = LabelScoring.Score(LatentActivations.FromTensor(latentsNL), labelsNY, names);
        var fromSae = LabelScoring.Score(LatentActivations.FromSae(sae, xND, batchSize: 77), labelsNY, names);
        Assert.Equal(fromTensor.Labels, fromSae.Labels);
        Assert.Equal(fromTensor.Latents, fromSae.Latents);
    }

    [Fact]
    public void LabelScoring_Score_NaNActivation_RejectedNamingTheRow()
    {
        var activations = new float[40 * 4];
        activations[7 * 4 + 2] = float.NaN;
        using var latentsNL = tensor(activations, [40, 4]);
        using var labelsNY = zeros(40, 1);
        var error = Assert.Throws<SaeSharpException>(() => LabelScoring.Score(LatentActivations.FromTensor(latentsNL, batchSize: 16), labelsNY, ["l"]));
        Assert.Contains("not finite", error.Message);
        Assert.Contains("row 7", error.Message);
    }

    [Fact]
    public void LabelScoring_Score_BadLabels_OneClearErrorEach()
    {
        using var latentsNL = rand(10, 3);
        var latents = LatentActivations.FromTensor(latentsNL);
        using var two = zeros(10, 2);
        two[4, 1] = tensor(2f);
        Assert.Contains("label 1 of row 4 is 2", Assert.Throws<SaeSharpException>(() => LabelScoring.Score(latents, two, ["a", "b"])).Message);
        using var shortLabels = zeros(9, 2);
        Assert.Contains("9 rows", Assert.Throws<SaeSharpException>(() => LabelScoring.Score(latents, shortLabels, ["a", "b"])).Message);
        using var ok = zeros(10, 2);
        Assert.Contains("appears twice", Assert.Throws<SaeSharpException>(() => LabelScoring.Score(latents, ok, ["a", "a"])).Message);
        Assert.Contains("1 label names", Assert.Throws<SaeSharpException>(() => LabelScoring.Score(latents, ok, ["a"])).Message);
        Assert.Equal("threshold_fractions", Assert.Throws<SaeSharpException>(() =>
            LabelScoring.Score(latents, ok, ["a", "b"], new LabelScoringOptions { ThresholdFractions = [1.5] })).Field);
    }

    [Fact]
    public void Auroc_Compute_KnownExampleAndTies()
    {
        // scikit-learn's roc_auc_score documentation example.
        using var scores = tensor(new[] { 0.1f, 0.4f, 0.35f, 0.8f });
        using var labels = tensor(new[] { 0f, 0f, 1f, 1f });
        Assert.Equal(0.75, Auroc.Compute(scores, labels), 12);
        // All tied: chance.
        using var flat = zeros(6);
        using var half = tensor(new[] { 1f, 0f, 1f, 0f, 1f, 0f });
        Assert.Equal(0.5, Auroc.Compute(flat, half), 12);
        Assert.True(double.IsNaN(Auroc.Compute(flat, zeros(6))));
    }
}
