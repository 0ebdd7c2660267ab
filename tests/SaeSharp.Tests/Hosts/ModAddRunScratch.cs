using SaeSharp.Hosts;
using TorchSharp;
using static TorchSharp.torch;
namespace SaeSharp.Tests.Hosts;
public sealed class ModAddRunScratch
{
    [Fact]
    public void Scratch_Run()
    {
        var frac = Environment.GetEnvironmentVariable("FRAC");
        if (frac is null) return;
        torch.set_num_threads(int.Parse(Environment.GetEnvironmentVariable("NT") ?? "1"));
        var path = $"/tmp/modadd-frac{frac}.log";
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var w = new StreamWriter(path) { AutoFlush = true };
        var progress = new P(e => { if (e.Step % 100 == 0) w.WriteLine($"{sw.Elapsed.TotalSeconds:F0}s {e}"); });
        using var r = ModAddTrainer.Train(new ModAddConfig(TrainFraction: double.Parse(frac), MaxSteps: 30000), progress);
        w.WriteLine($"done {sw.Elapsed.TotalSeconds:F0}s steps {r.Steps} mem {r.StepsToMemorize} gen {r.StepsToGeneralize} test {r.TestAccuracy} key {string.Join(",", r.KeyFrequencies.Frequencies)} expl {r.KeyFrequencies.Explained}");
        w.WriteLine(string.Join(" ", r.KeyFrequencies.NormFractions.Select(x => x.ToString("F3"))));
        foreach (var e in r.Log.Where(e => e.RestrictedLoss is not null)) w.WriteLine(e.ToString());
    }
    sealed class P(Action<ModAddLogEntry> a) : IProgress<ModAddLogEntry> { public void Report(ModAddLogEntry e) => a(e); }
}
