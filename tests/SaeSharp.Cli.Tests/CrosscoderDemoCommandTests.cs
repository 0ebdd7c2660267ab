using System.Text.Json;
using System.Text.RegularExpressions;

namespace SaeSharp.Cli.Tests;

/// <summary>
/// <c>saesharp crosscoder demo</c> end to end on two modular-addition hosts (from the cache, or trained): the printed
/// JSON has the shape the issue asks for, and the L1 crosscoder tells shared from exclusive frequencies as the truth says.
/// </summary>
[Collection(ModAddHostsCollection.Name)]
public sealed class CrosscoderDemoCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-xcdemo-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void CrosscoderDemo_WithoutStudent_L1AgreesWithTheFrequencyTruthAndBothScoresArePrinted()
    {
        var output = Path.Combine(_directory, "xc");
        var run = CliRunner.Run(["crosscoder", "demo", "--no-student", "--out", output, "--json"], TimeSpan.FromMinutes(30));
        Assert.True(run.ExitCode == 0, run.StdErr);
        var summary = run.Json;

        var models = summary.GetProperty("models").EnumerateArray().ToArray();
        Assert.Equal(["A", "B"], models.Select(m => m.GetProperty("name").GetString()));
        foreach (var model in models)
        {
            Assert.True(model.GetProperty("accuracy").GetDouble() >= 0.99);
            Assert.InRange(model.GetProperty("key_frequencies").GetArrayLength(), 3, 8);
            Assert.InRange(model.GetProperty("hook_key_frequencies").GetArrayLength(), 1, 8);
        }

        foreach (var name in new[] { "l1", "batchtopk" })
        {
            var score = summary.GetProperty(name);
            var rows = score.GetProperty("confusion").GetProperty("truth_by_predicted").EnumerateArray().ToArray();
            Assert.Equal(3, rows.Length);
            int scored = score.GetProperty("scored_latents").GetInt32();
            Assert.Equal(scored, rows.Sum(r => r.EnumerateArray().Sum(c => c.GetInt32())));
            Assert.True(score.GetProperty("accuracy").ValueKind is JsonValueKind.Number or JsonValueKind.Null);
        }

        // The acceptance bar for the L1 rule, on enough latents to mean something.
        var l1 = summary.GetProperty("l1");
        Assert.True(l1.GetProperty("scored_latents").GetInt32() >= 10, $"only {l1.GetProperty("scored_latents").GetInt32()} scored latents");
        Assert.True(l1.GetProperty("accuracy").GetDouble() >= 0.9, $"L1 accuracy {l1.GetProperty("accuracy").GetDouble()}");

        var html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.True(Regex.Matches(html, "<img ").Count >= 2, "the report lacks the relative-norm histograms");
        Assert.True(File.Exists(Path.Combine(output, "summary.json")));
    }
}
