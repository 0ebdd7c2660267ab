using System.CommandLine;
using System.Globalization;
using SaeSharp.Analysis;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Cli.Reporting;
using SaeSharp.IO;
using SaeSharp.Testbeds.ModularAddition;
using static TorchSharp.torch;

namespace SaeSharp.Cli.Commands;

/// <summary>
/// <c>saesharp analyze helix --host modadd</c>: the helix fit (<see cref="HelixFit"/>) of the modular-addition host's operands
/// with its key periods, activation patching of the fit, and the host's embedding circles (with <c>--compare</c>, beside
/// those of the host trained with the other loss).
/// </summary>
internal static class AnalyzeHelixCommand
{
    internal static Command Create()
    {
        var defaults = new ModAddHelixOptions();
        var host = new Option<string>("--host") { Description = "The host: modadd (the modular-addition host, trained and cached when missing).", Required = true };
        var seed = new Option<long>("--seed") { Description = "The host's seed.", DefaultValueFactory = _ => 0 };
        var loss = new Option<string>("--loss") { Description = "The host's training loss: cross-entropy or harmonic.", DefaultValueFactory = _ => ModAddLossNames.Name(ModAddLoss.CrossEntropy) };
        var compare = new Option<bool>("--compare") { Description = "Also load (or train) the host of the other loss and report its embedding geometry and grokking steps." };
        var hook = new Option<string>("--hook") { Description = "Hook point read and patched (resid_pre.0: the embedded operands).", DefaultValueFactory = _ => defaults.Hook };
        var positions = new Option<string>("--positions") { Description = "Comma-separated operand positions fitted and patched (0: a, 1: b).", DefaultValueFactory = _ => string.Join(',', defaults.Positions) };
        var fitSeed = new Option<int>("--fit-seed") { Description = "Seed of the held-out numbers and the random periods.", DefaultValueFactory = _ => defaults.Fit.Seed };
        var outDir = new Option<string?>("--out") { Description = "Folder for report.html (the helix section and its figure)." };
        var force = new Option<bool>("--force") { Description = "Replace what --out holds." };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (default: libtorch's choice, the core count)." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("helix",
            "Helix fit (Kantamneni & Tegmark): the host's operand representation as C·B(a) with its key periods T = p/f, R^2 on held-out operands against PCA and random periods; patched test accuracy; embedding circles per key frequency (harmonic vs cross-entropy with --compare).");
        foreach (var option in new Option[] { host, seed, loss, compare, hook, positions, fitSeed, outDir, force, threads, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            if (result.GetValue(host) != "modadd")
                throw new SaeSharpException($"\"{result.GetValue(host)}\" is not a host this analysis knows; use modadd", field: "--host");
            var lossKind = ModAddLossNames.Parse(result.GetValue(loss)!, "--loss");
            var options = new ModAddHelixOptions
            {
                Hook = result.GetValue(hook)!,
                Positions = ParsePositions(result.GetValue(positions)!),
                Fit = defaults.Fit with { Seed = result.GetValue(fitSeed) },
            }.Validate();
            var outPath = result.GetValue(outDir);
            if (outPath is not null) CommandRunner.EnsureWritable(outPath, result.GetValue(force), "--out folder");
            if (result.GetValue(threads) is > 0 and var threadCount)
                TorchSharp.torch.set_num_threads(threadCount);
            var config = new ModAddConfig(Seed: result.GetValue(seed), Loss: lossKind).Validate();
            var folder = ModAddCache.EntryFolder(HostCacheFolder.Default(), config);

            using var trained = await Load(config, folder, cancellationToken);
            var helix = ModAddHelix.Analyze(trained, options);
            var geometry = ModAddGeometry.Measure(trained);
            ModAddGeometryResult? compared = null;
            if (result.GetValue(compare))
            {
                var other = config with { Loss = lossKind == ModAddLoss.Harmonic ? ModAddLoss.CrossEntropy : ModAddLoss.Harmonic };
                using var otherHost = await Load(other, ModAddCache.EntryFolder(HostCacheFolder.Default(), other), cancellationToken);
                compared = ModAddGeometry.Measure(otherHost);
            }
            var report = HelixOutput.From(helix, geometry, compared, config.Seed, Path.GetFullPath(folder));
            if (outPath is not null)
            {
                var (actual, fitted) = Projections(trained, helix, options);
                Directory.CreateDirectory(outPath);
                var html = HelixSection.Append(new HtmlReport("SaeSharp helix fit"), report,
                    HelixSection.FitFigure(actual, fitted, $"operand a at {helix.Hook} ({report.Loss} host)"));
                AtomicFile.WriteAllText(Path.Combine(outPath, "report.html"), html.Render());
            }
            if (result.GetValue(json))
                CliJson.Print(report, CliJsonContext.Default.HelixOutput);
            else
                PrintText(report, outPath);
            return 0;
        }));
        return command;
    }

    private static Task<ModAddResult> Load(ModAddConfig config, string folder, CancellationToken cancellationToken) =>
        ConsoleProgress.RunAsync("host", quiet: false, progress => Task.Run(() => ModAddCache.LoadOrTrain(config, folder,
            progress: new Progress<ModAddLogEntry>(e => progress.Report(new ConsoleProgress.Update(e.Step, config.MaxSteps,
                string.Create(CultureInfo.InvariantCulture, $"training the {ModAddLossNames.Name(config.Loss)} host: step {e.Step:N0}, test acc {e.TestAccuracy:P1}")))),
            cancellationToken: cancellationToken)));

    /// <summary>Operand a's representation (first fitted position, one row per a) and its helix fit, on the representation's top two principal components.</summary>
    private static (double[,] Actual, double[,] Fitted) Projections(ModAddResult host, ModAddHelixResult helix, ModAddHelixOptions options)
    {
        int p = host.Config.P, position = helix.Positions[0];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rows = tensor(Enumerable.Range(0, p).Select(a => (long)(position == 0 ? a * p : a)).ToArray());
        var actualPD = ModAddHelix.Residual(host.Model, options.Hook).select(1, position).index_select(0, rows).to_type(ScalarType.Float64);
        var fittedPD = helix.Fits[0].Model.Predict(arange(p, dtype: ScalarType.Float64));
        var meanD = actualPD.mean([0L], keepdim: true);
        var (_, _, vh) = linalg.svd(actualPD.sub(meanD), fullMatrices: false);
        var top2D = vh.narrow(0, 0, 2).t();
        return (ToGrid(actualPD.sub(meanD).matmul(top2D), p), ToGrid(fittedPD.sub(meanD).matmul(top2D), p));
    }

    private static double[,] ToGrid(Tensor xP2, int p)
    {
        var values = xP2.contiguous().data<double>().ToArray();
        var grid = new double[p, 2];
        for (int i = 0; i < p; i++) (grid[i, 0], grid[i, 1]) = (values[2 * i], values[2 * i + 1]);
        return grid;
    }

    private static int[] ParsePositions(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] is < 0 or > 1)
                throw new SaeSharpException($"\"{parts[i]}\" is not an operand position (0 for a, 1 for b)", field: "--positions");
        if (values.Length == 0) throw new SaeSharpException("is empty; pass 0, 1 or 0,1", field: "--positions");
        return values;
    }

    private static void PrintText(HelixOutput o, string? outPath)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.Out.WriteLine(string.Create(inv, $"helix at {o.Hook} ({o.Loss} host, periods {string.Join(", ", o.Periods.Select(t => t.ToString("F2", inv)))}):"));
        Console.Out.WriteLine(string.Create(inv, $"  r2_helix {o.R2Helix:F4}  r2_pca_same_params {o.R2PcaSameParams:F4}  r2_random_periods {o.R2RandomPeriods:F4}  (without linear {o.R2HelixWithoutLinear:F4}, linear only {o.R2LinearOnly:F4})"));
        Console.Out.WriteLine(string.Create(inv, $"  test accuracy: clean {o.CleanAccuracy:P2}, helix patched {o.PatchedAccuracy:P2}, mean-ablated {o.MeanAblatedAccuracy:P2}"));
        foreach (var g in o.Compared is null ? new[] { o.Geometry } : [o.Geometry, o.Compared])
            Console.Out.WriteLine(string.Create(inv,
                $"  {g.Loss} host: mean circularity {g.MeanCircularity:F3}, memorised at {g.StepsToMemorize?.ToString(inv) ?? "-"}, generalised at {g.StepsToGeneralize?.ToString(inv) ?? "-"}, test acc {g.TestAccuracy:P2}"));
        if (outPath is not null) Console.Out.WriteLine($"report: {Path.GetFullPath(Path.Combine(outPath, "report.html"))}");
    }
}
