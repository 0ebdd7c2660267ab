using System.Text.Json;
using SaeSharp.Evaluation;
using SaeSharp.Hosts;
using SaeSharp.IO;
using SaeSharp.Lora;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Lora;

[Collection("Torch")]
public sealed class LoraTests
{
    private static HostConfig TinyNeo => HostConfig.GptNeo(vocabSize: 40, contextLength: 12, modelDim: 16, headCount: 2, layerCount: 2, window: 3);

    private const string Hook = "resid_post.0";

    private static Sae TinySae(int width = 16) => Sae.Create(new SaeConfig(width, 32, new TopKArchitecture(4)), seed: 3);

    private static long[][] Sequences(int count, long seed)
    {
        var random = new Random((int)seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, random.Next(3, 12)).Select(_ => (long)random.Next(0, 40)).ToArray()).ToArray();
    }

    /// <summary>B set to noise so that A's gradient is not zero and the adapted model differs from the host.</summary>
    private static void Perturb(LoraAdapters adapters, long seed)
    {
        using var g = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, p) in adapters.Parameters())
            if (name.EndsWith("lora_B.weight", StringComparison.Ordinal))
                p.copy_(randn(p.shape, dtype: p.dtype, generator: g).mul(0.1));
    }

    private static string TempDir() => Path.Combine(Path.GetTempPath(), $"saesharp-lora-{Guid.NewGuid():N}");

    [Fact]
    public void LoraTrainer_Loss_Float64_GradientsMatchFiniteDifferences()
    {
        var previous = get_default_dtype();
        set_default_dtype(ScalarType.Float64);
        try
        {
            using var host = new HostTransformer(TinyNeo, seed: 1);
            using var sae = TinySae();
            sae.eval();
            using var adapters = LoraAdapters.Create(host, new LoraConfig { Rank = 2, Alpha = 4 }, [1], seed: 2);
            Perturb(adapters, 5);
            var sequences = Sequences(3, 7);
            var (inputsBT, targetsBT, _) = LanguageModelTrainer.Pad(sequences, [0, 1, 2]);
            Assert.Equal(ScalarType.Float64, adapters.Parameters()[0].Parameter.dtype);

            var loss = LoraTrainer.Loss(host, sae, Hook, adapters, inputsBT, targetsBT, untouched: 0);
            loss.backward();
            const double eps = 1e-6;
            int checkedEntries = 0;
            foreach (var (name, p) in adapters.Parameters())
            {
                var grad = p.grad!.clone();
                for (long i = 0; i < Math.Min(3, p.NumberOfElements); i++)
                {
                    long at = i * (p.NumberOfElements / 3);
                    double Eval(double delta)
                    {
                        using var noGrad = no_grad();
                        var flat = p.view(-1);
                        double original = flat[at].item<double>();
                        flat[at] = original + delta;
                        double value = LoraTrainer.Loss(host, sae, Hook, adapters, inputsBT, targetsBT, 0).item<double>();
                        flat[at] = original;
                        return value;
                    }
                    double numeric = (Eval(eps) - Eval(-eps)) / (2 * eps);
                    double analytic = grad.view(-1)[at].item<double>();
                    Assert.True(Math.Abs(numeric - analytic) <= 1e-6 + 1e-4 * Math.Abs(numeric), $"{name}[{at}]: autograd {analytic}, finite differences {numeric}");
                    checkedEntries++;
                }
            }
            Assert.True(checkedEntries >= 12 * 3);
            Assert.True(loss.item<double>() > 0);
        }
        finally
        {
            set_default_dtype(previous);
        }
    }

    [Fact]
    public void LoraAdapters_SavePeft_LoadPeft_RoundTripsBitExactWithPeftNames()
    {
        using var host = new HostTransformer(TinyNeo, seed: 1);
        using var adapters = LoraAdapters.Create(host, new LoraConfig { Rank = 3, Alpha = 6, Modules = [LoraAdapters.Q, LoraAdapters.V, LoraAdapters.Proj] }, [0, 1], seed: 2);
        Perturb(adapters, 9);
        var folder = TempDir();
        try
        {
            adapters.SavePeft(folder);
            var names = SafeTensorsFile.Read(Path.Combine(folder, LoraAdapters.WeightsFileName)).Tensors.Keys.ToHashSet();
            Assert.Contains("base_model.model.transformer.h.0.attn.attention.q_proj.lora_A.weight", names);
            Assert.Contains("base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight", names);
            Assert.Equal(12, names.Count);
            using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, LoraAdapters.ConfigFileName))))
            {
                var root = config.RootElement;
                Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
                Assert.Equal(3, root.GetProperty("r").GetInt32());
                Assert.Equal(6, root.GetProperty("lora_alpha").GetDouble());
                Assert.Equal(["q_proj", "v_proj", "c_proj"], root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()!).ToArray());
                Assert.Equal([0, 1], root.GetProperty("layers_to_transform").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            }
            using var loaded = LoraAdapters.LoadPeft(folder, host);
            Assert.Equal(adapters.Config.Rank, loaded.Config.Rank);
            var expected = adapters.Parameters();
            var actual = loaded.Parameters();
            Assert.Equal(expected.Select(p => p.Name), actual.Select(p => p.Name));
            for (int i = 0; i < expected.Count; i++)
                Assert.True(expected[i].Parameter.allclose(actual[i].Parameter, rtol: 0, atol: 0), expected[i].Name);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void LoraAdapters_Merge_GivesTheAdaptedModelsLogits()
    {
        using var host = new HostTransformer(TinyNeo, seed: 1);
        using var adapters = LoraAdapters.Create(host, new LoraConfig { Rank = 4 }, [0, 1], seed: 2);
        using var ids = tensor(Sequences(4, 3).Select(s => s.Take(3).ToArray()).SelectMany(s => s).ToArray(), [4, 3]);
        using var plain = host.Forward(ids, null);
        using (var fresh = host.Forward(ids, null, adapters))
            Assert.True(fresh.allclose(plain, rtol: 0, atol: 0), "B starts at zero: fresh adapters change nothing");
        Perturb(adapters, 4);
        using var adapted = host.Forward(ids, null, adapters);
        using var merged = adapters.Merge(host);
        using var mergedLogits = merged.Forward(ids, null);
        Assert.True(adapted.sub(plain).abs().max().item<float>() > 1e-3, "perturbed adapters change the logits");
        Assert.True(mergedLogits.allclose(adapted, rtol: 1e-4, atol: 1e-5));
        using var hostAgain = host.Forward(ids, null);
        Assert.True(hostAgain.allclose(plain, rtol: 0, atol: 0), "merging leaves the host's weights alone");
    }

    [Theory]
    [InlineData(0, "rank")]
    [InlineData(17, "rank")]
    public void LoraAdapters_Create_RankOutOfRange_NamesRank(int rank, string field)
    {
        using var host = new HostTransformer(TinyNeo, seed: 1);
        var e = Assert.Throws<SaeSharpException>(() => LoraAdapters.Create(host, new LoraConfig { Rank = rank }, [1]));
        Assert.Equal(field, e.Field);
        Assert.Contains(rank.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SplicedEvaluator_SaeWidthNotHookWidth_ClearError()
    {
        using var host = new HostTransformer(TinyNeo, seed: 1);
        using var sae = TinySae(width: 24);
        var e = Assert.Throws<SaeSharpException>(() => SplicedEvaluator.Evaluate(host, sae, Sequences(2, 1), new SplicedEvaluationOptions { Hook = Hook }));
        Assert.Equal("sae", e.Field);
        Assert.Contains("width 24", e.Message, StringComparison.Ordinal);
        Assert.Contains("width 16", e.Message, StringComparison.Ordinal);
        var trainer = new LoraTrainer(new LoraTrainOptions { Steps = 1 });
        using var adapters = LoraAdapters.Create(host, new LoraConfig { Rank = 2 }, [1]);
        Assert.Throws<SaeSharpException>(() => trainer.Train(host, sae, Hook, adapters, Sequences(4, 1)));
    }

    [Fact]
    public void SplicedEvaluator_Evaluate_CleanMatchesLanguageModelLossAndUntouchedPrefixCostsNothing()
    {
        using var host = new HostTransformer(TinyNeo, seed: 1);
        using var sae = TinySae();
        var sequences = Sequences(10, 5);
        var all = SplicedEvaluator.Evaluate(host, sae, sequences, new SplicedEvaluationOptions { Hook = Hook, BatchSize = 4 });
        var reference = LanguageModelTrainer.Evaluate(host, sequences, batchSize: 4);
        Assert.Equal(reference.MeanLoss, all.CeClean, 10);
        Assert.Equal(reference.Tokens, all.Tokens);
        Assert.True(all.KlSpliced > 0 && all.CeSpliced != all.CeClean);
        Assert.True(double.IsFinite(all.CeZero) && double.IsFinite(all.CeMean));
        var untouched = SplicedEvaluator.Evaluate(host, sae, sequences, new SplicedEvaluationOptions { Hook = Hook, UntouchedPositions = 12, Ablations = false });
        Assert.Equal(untouched.CeClean, untouched.CeSpliced, 10);
        Assert.Equal(0, untouched.KlSpliced, 10);
        Assert.True(double.IsNaN(untouched.CeZero));
    }

    [Fact]
    public void LoraTrainer_Train_LowersValidationKlAndResumesFromItsCheckpoint()
    {
        using var host = new HostTransformer(TinyNeo, seed: 1);
        using var sae = TinySae();
        var sequences = Sequences(40, 11);
        var options = new LoraTrainOptions { Steps = 30, BatchSize = 8, LearningRate = 3e-3, LogEvery = 5, EvalEvery = 10, CheckpointEvery = 10, ValidationFraction = 0.2 };
        var folder = TempDir();
        try
        {
            using var straight = LoraAdapters.Create(host, new LoraConfig { Rank = 2, Alpha = 2 }, [1], seed: 3);
            var full = new LoraTrainer(options).Train(host, sae, Hook, straight, sequences);
            Assert.True(full.ValidationKlAfter < full.ValidationKlBefore, $"validation KL {full.ValidationKlBefore} → {full.ValidationKlAfter}");

            using var first = LoraAdapters.Create(host, new LoraConfig { Rank = 2, Alpha = 2 }, [1], seed: 3);
            new LoraTrainer(options with { Steps = 20 }).Train(host, sae, Hook, first, sequences, folder);
            Assert.Equal(4, File.ReadAllLines(Path.Combine(folder, LoraTrainer.MetricsFileName)).Length);
            using var resumed = LoraAdapters.Create(host, new LoraConfig { Rank = 2, Alpha = 2 }, [1], seed: 3);
            var second = new LoraTrainer(options).Train(host, sae, Hook, resumed, sequences, folder);
            Assert.Equal(20, second.ResumedFromStep);
            var a = straight.Parameters();
            var b = resumed.Parameters();
            for (int i = 0; i < a.Count; i++)
                Assert.True(a[i].Parameter.allclose(b[i].Parameter, rtol: 1e-5, atol: 1e-7), a[i].Name);
            Assert.True(host.parameters().All(p => p.requires_grad), "the host's parameters are unfrozen again after training");
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
