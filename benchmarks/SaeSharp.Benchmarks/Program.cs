using SaeSharp.Throughput;
using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using SaeSharp.Training.Fused;

// `profile [--quick]` prints the shared runner's report (throughput, ceiling and per-part profile) as JSON;
// anything else goes to BenchmarkDotNet (e.g. `--filter '*'`).
if (args.Length > 0 && args[0] == "profile")
{
    var reps = args.Contains("--quick") ? ThroughputRepetitions.Quick : ThroughputRepetitions.Full;
    foreach (var shape in new[] { ThroughputShape.Large, ThroughputShape.Small })
    {
        var report = ThroughputRunner.Run(shape, reps, includeAutograd: true, profile: true);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            report.D, report.M, report.K, report.Batch, report.Threads,
            report.TokensPerSecondFused, report.TokensPerSecondAutograd, report.SpeedupOverAutograd,
            report.GemmGflops, report.EncoderGemmGflops, report.CeilingTokensPerSecond, report.FractionOfCeiling,
            report.FusedStepMs, report.AutogradStepMs, report.EncoderGemmMs, report.LoadAverageBefore, report.LoadAverageAfter,
            Profile = report.Profile?.ToDictionary(p => p.Part, p => Math.Round(p.Milliseconds, 2)),
        }, new JsonSerializerOptions { WriteIndented = true }));
    }
    return 0;
}
if (args.Length > 0 && args[0] == "topk-probe")
{
    foreach (var (rows, latents, k) in new[] { (4096, 1024, 16), (4096, 16384, 32) })
    {
        var pre = TorchSharp.torch.randn(rows, latents);
        var bias = TorchSharp.torch.zeros(latents);
        var sel = new SparseSelection<float>();
        unsafe
        {
            float* p = (float*)SaeSharp.Internals.TensorMemory.Address(pre), b = (float*)SaeSharp.Internals.TensorMemory.Address(bias);
            for (int rep = 0; rep < 5; rep++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                TopKKernels.TopKPerRow(p, b, rows, latents, k, sel);
                Console.WriteLine($"{rows}x{latents} k={k}: {sw.Elapsed.TotalMilliseconds:F2} ms");
            }
        }
    }
    return 0;
}
// In-process (the native libtorch next to this exe is the patched one) with few, long iterations: an
// autograd step at the large shape takes seconds, so the usual pilot and many-iteration jobs would take hours.
var job = Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3)
    .WithToolchain(new InProcessNoEmitToolchain(TimeSpan.FromMinutes(30), logOutput: false));
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, DefaultConfig.Instance.AddJob(job));
return 0;
