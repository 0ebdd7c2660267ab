using System.Diagnostics;
using System.Text.RegularExpressions;
using SaeSharp.Analysis;
using SaeSharp.Dashboards;
using SaeSharp.Testing;
using SaeSharp.Training;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Dashboards;

[Collection("Torch")]
public sealed class LatentDashboardTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-dashboard-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A fake 50-token vocabulary whose strings need escaping or visible whitespace.</summary>
    private static readonly string[] Vocabulary =
    [
        "<script>", "\n", " ", "&amp;", "\"quoted\"", "it's", " <b>", "\t", "",
        .. Enumerable.Range(0, 41).Select(i => $" word{i}"),
    ];

    [Fact]
    public void HtmlText_Token_EscapesAndShowsWhitespace()
    {
        Assert.Equal("&lt;script&gt;", HtmlText.Token("<script>"));
        Assert.Equal("·a&amp;b↵→", HtmlText.Token(" a&b\n\t"));
        Assert.Equal("&quot;&#39;", HtmlText.Token("\"'"));
        Assert.Equal("\\x01", HtmlText.Token("\u0001"));
        Assert.Equal("∅", HtmlText.Token(""));
    }

    /// <summary>
    /// End to end on a small language-like source: each row is one token of a 50-token vocabulary, embedded as
    /// E[token] plus a shared direction per token class (token mod 5), the unembedding tied to E. A TopK SAE trained
    /// on it has a latent for the <c>&lt;script&gt;</c> token; the dashboard shows it, with that token promoted, and
    /// renders in headless Chromium with every histogram and the token escaped as text.
    /// </summary>
    [Fact]
    public async Task LatentDashboard_Write_SaeOnTokenSource_RendersInChromiumWithEveryFigure()
    {
        const int sequences = 60, length = 50, rows = sequences * length, width = 32, vocabulary = 50;
        var random = new Random(3);
        var tokenIds = Enumerable.Range(0, rows).Select(_ => random.Next(vocabulary)).ToArray();
        using var embeddingVD = randn(vocabulary, width, generator: new Generator(4));
        embeddingVD.div_(embeddingVD.norm(1, keepdim: true));
        using var classesCD = randn(5, width, generator: new Generator(5));
        classesCD.div_(classesCD.norm(1, keepdim: true));
        using var ids = tensor(tokenIds.Select(t => (long)t).ToArray());
        using var classIds = tensor(tokenIds.Select(t => (long)(t % 5)).ToArray());
        using var noiseScale = 0.02.ToScalar();
        using var xND = embeddingVD.index_select(0, ids).add_(classesCD.index_select(0, classIds).mul_(HeldScalars.Half), HeldScalars.One)
            .add_(randn(rows, width, generator: new Generator(6)).mul_(noiseScale), HeldScalars.One);

        using var source = new InMemoryActivationSource(xND, seed: 1);
        using var trainer = new SaeTrainer(new SaeConfig(width, 64, new TopKArchitecture(2)),
            new TrainConfig { Steps = 600, BatchSize = 256, LearningRate = 3e-3, Seed = 1, DeadWindowTokens = 20_000, InitSampleRows = 1024 });
        var trained = await trainer.TrainAsync(source);
        var latents = LatentActivations.FromSae(trained.Sae, xND, trained.ActivationScale, batchSize: 1000);

        string[] names = ["token <script>", "token newline", "token space", "class 0"];
        using var labelsNY = tensor(tokenIds.SelectMany(t => new float[] { t == 0 ? 1 : 0, t == 1 ? 1 : 0, t == 2 ? 1 : 0, t % 5 == 0 ? 1 : 0 }).ToArray(), [rows, names.Length]);
        var scores = LabelScoring.Score(latents, labelsNY, names);
        foreach (var label in scores.Labels)
            output.WriteLine($"{label.Name}: support {label.Support}, latent {label.BestLatent}, F1 {label.F1:F3}, AUROC {label.Auroc:F3}");
        var script = scores.Labels[0];
        Assert.True(script.F1 >= 0.9, $"the <script> token's best latent has F1 {script.F1:F3}");

        var input = new LatentDashboardInput(latents, [.. tokenIds.Select(t => Vocabulary[t])])
        {
            SequenceIds = [.. Enumerable.Range(0, rows).Select(r => r / length)],
            Logits = new DashboardLogits(trained.Sae.DecoderWeights, embeddingVD, t => Vocabulary[t]),
            Labels = scores,
            Options = new LatentDashboardOptions { LatentCount = 40, Order = LatentOrder.LabelMatch, Title = "Latents <&> \"test\"" },
        };
        var (panels, _, _) = LatentPanels.Build(input);
        Assert.Equal(40, panels.Count);
        var scriptPanel = panels.Single(p => p.Latent == script.BestLatent);
        Assert.Equal("<script>", scriptPanel.Promoted[0].Token);
        // Every context window stays inside its sequence and peaks where the latent fired.
        foreach (var panel in panels)
            foreach (var context in panel.Contexts)
            {
                Assert.Equal(context.FirstRow / length, (context.FirstRow + context.Values.Length - 1) / length);
                Assert.Equal(context.PeakValue, context.Values[context.PeakRow - context.FirstRow]);
                Assert.True(context.PeakValue > 0);
            }

        var html = Path.Combine(_directory, "dashboard.html");
        LatentDashboard.Write(html, input);
        Assert.Throws<SaeSharpException>(() => LatentDashboard.Write(html, input));
        Assert.Empty(Directory.GetFiles(_directory, ".*.tmp"));
        string text = File.ReadAllText(html);
        Assert.DoesNotContain("http://", text.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);

        string dom = HeadlessChromium.Run(_directory, "--dump-dom", "--virtual-time-budget=5000", new Uri(html).AbsoluteUri);
        int Data(string name)
        {
            var match = Regex.Match(dom, $"data-{name}=\"(\\d+)\"");
            Assert.True(match.Success, $"the page's counting script did not set data-{name} in Chromium");
            return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.Equal(40, Data("panel-count"));
        Assert.Equal(40, Data("svg-count"));
        Assert.Equal(1, Data("script-count"));
        Assert.Equal(panels.Sum(p => p.Contexts.Sum(c => c.Values.Length)), Data("token-count"));
        Assert.Matches("<span class=\"t[^\"]*\"[^>]*>&lt;script&gt;</span>", dom);
        Assert.Contains("<title>Latents &lt;&amp;&gt; \"test\"</title>", dom);

        var screenshot = Path.Combine(_directory, "dashboard.png");
        HeadlessChromium.Run(_directory, $"--screenshot={screenshot}", "--window-size=1200,1600", new Uri(html).AbsoluteUri);
        Assert.True(new FileInfo(screenshot).Length > 10_000);
        var artifacts = Path.Combine(RepositoryPaths.Root, "artifacts");
        Directory.CreateDirectory(artifacts);
        File.Copy(screenshot, Path.Combine(artifacts, "latent-dashboard.png"), overwrite: true);
    }

    [Fact]
    public void LatentDashboard_Render_TwoHundredLatents_StaysUnderFourMegabytes()
    {
        using var latentsNL = rand(20_000, 300, generator: new Generator(8));
        using var cut = 0.9.ToScalar();
        using var below = latentsNL.lt(cut);
        latentsNL.masked_fill_(below, HeldScalars.Zero);
        var input = new LatentDashboardInput(LatentActivations.FromTensor(latentsNL), [.. Enumerable.Range(0, 20_000).Select(i => $" tok{i % 997}")])
        {
            Options = new LatentDashboardOptions { LatentCount = 200 },
        };
        string html = LatentDashboard.Render(input);
        Assert.Equal(200, Regex.Matches(html, "<svg class=\"histogram\"").Count);
        Assert.InRange(Regex.Matches(html, "<span class=\"t").Count, 200 * 10 * 14, 200 * 10 * 15);
        Assert.True(html.Length < 4_000_000, $"{html.Length} characters");
        // Density order: the index lists latents with non-increasing density.
        var densities = Regex.Matches(html, "<tr><td><a href=\"#latent-\\d+\">\\d+</a></td><td>([0-9.]+)</td>")
            .Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(200, densities.Length);
        Assert.Equal(densities.OrderByDescending(d => d), densities);
    }

    [Fact]
    public void LatentDashboard_Render_BadInputs_OneClearErrorEach()
    {
        using var latentsNL = rand(10, 4);
        var latents = LatentActivations.FromTensor(latentsNL);
        var tokens = Enumerable.Repeat("x", 10).ToArray();
        Assert.Equal("tokens", Assert.Throws<SaeSharpException>(() => LatentDashboard.Render(new LatentDashboardInput(latents, tokens[..9]))).Field);
        Assert.Equal("order", Assert.Throws<SaeSharpException>(() => LatentDashboard.Render(new LatentDashboardInput(latents, tokens)
        {
            Options = new LatentDashboardOptions { Order = LatentOrder.LabelMatch },
        })).Field);
        Assert.Equal("latents", Assert.Throws<SaeSharpException>(() => LatentDashboard.Render(new LatentDashboardInput(latents, tokens)
        {
            Options = new LatentDashboardOptions { Latents = [4] },
        })).Field);
        Assert.Equal("unembedding", Assert.Throws<SaeSharpException>(() => LatentDashboard.Render(new LatentDashboardInput(latents, tokens)
        {
            Logits = new DashboardLogits(zeros(4, 3), zeros(7, 5), i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        })).Field);
        Assert.Equal("contexts_per_latent", Assert.Throws<SaeSharpException>(() => LatentDashboard.Render(new LatentDashboardInput(latents, tokens)
        {
            Options = new LatentDashboardOptions { ContextsPerLatent = 0 },
        })).Field);
    }
}
