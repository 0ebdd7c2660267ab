using System.CommandLine;
using System.Globalization;
using SaeSharp.Analysis;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Harvest.Store;
using SaeSharp.IO;
using static TorchSharp.torch;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp analyze dark-matter|probe|geometry</c>: the analyses of <c>SaeSharp.Analysis</c> on a saved SAE.</summary>
internal static class AnalyzeCommand
{
    internal static Command Create()
    {
        var command = new Command("analyze", "Analyses of a saved SAE: dark matter (Engels et al.), sparse probing (Kantamneni et al.) and feature geometry (Li et al.).");
        command.Subcommands.Add(DarkMatterCommand());
        command.Subcommands.Add(ProbeCommand());
        command.Subcommands.Add(AnalyzeHelixCommand.Create());
        command.Subcommands.Add(GeometryCommand.Create());
        return command;
    }

    private static Command DarkMatterCommand()
    {
        var saeOption = new Option<string>("--sae") { Description = "SAE folder (SAELens layout).", Required = true };
        var sourceOptions = new SourceOptions();
        var rows = new Option<long>("--rows") { Description = "Rows to read (half fit the linear maps, half score them).", DefaultValueFactory = _ => 16384 };
        var fitFraction = new Option<double>("--fit-fraction") { Description = "Share of the rows the linear maps are fitted on.", DefaultValueFactory = _ => new DarkMatterOptions().FitFraction };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("dark-matter",
            "SAE error e = x - SAE(x): its share linearly predictable from x (linear_error_r2), the R^2 of its squared norm (norm_r2), the nonlinear share, fvu with and without the linear part.");
        command.Options.Add(saeOption);
        sourceOptions.AddTo(command);
        foreach (var option in new Option[] { rows, fitFraction, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(() =>
        {
            var directory = result.GetValue(saeOption)!;
            long rowCount = result.GetValue(rows);
            if (rowCount < 1 || rowCount > int.MaxValue)
                throw new SaeSharpException($"{rowCount} must be between 1 and {int.MaxValue}", field: "--rows");
            using var sae = SaeCheckpoint.Load(directory);
            var spec = sourceOptions.Read(result, defaultSeed: 0);
            using var source = spec.Open();
            if (source.InputDim != sae.InputDim)
                throw new SaeSharpException($"the source's rows have width {source.InputDim} but the SAE reads {sae.InputDim}", field: "--sae");
            if (source.RowCount is long available && available < rowCount) rowCount = available;
            using var xND = source.NextBatch((int)rowCount);
            var analysis = DarkMatter.Analyze(sae, xND, new DarkMatterOptions { FitFraction = result.GetValue(fitFraction) });
            string described = spec is StoreSpec store ? $"{Path.GetFullPath(store.Path)}#{store.Hook}" : "synthetic";
            var report = DarkMatterOutput.From(Path.GetFullPath(directory), described, analysis);
            if (result.GetValue(json))
                CliJson.Print(report, CliJsonContext.Default.DarkMatterOutput);
            else
                Console.Out.WriteLine(CliJson.Lines(report, CliJsonContext.Default.DarkMatterOutput, nameWidth: 20));
            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command ProbeCommand()
    {
        var saeOption = new Option<string>("--sae") { Description = "SAE folder (SAELens layout).", Required = true };
        var storeOption = new Option<string>("--store") { Description = "Activation store with row labels (labels.bin beside it).", Required = true };
        var hookOption = new Option<string>("--hook") { Description = "Hook whose rows to probe (the SAE's).", Required = true };
        var labelsOption = new Option<string?>("--labels") { Description = "Comma-separated label names to probe (default: every label of the store)." };
        var kOption = new Option<string>("--k") { Description = "Comma-separated latent counts of the sparse probes.", DefaultValueFactory = _ => string.Join(',', new SparseProbingOptions().KValues) };
        var rows = new Option<long?>("--rows") { Description = "Probe only the store's first N rows (default: all)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the splits and class balancing.", DefaultValueFactory = _ => 0 };
        var trainRows = new Option<int>("--train-rows") { Description = "Balanced training rows per label, at most (the paper's largest training set).", DefaultValueFactory = _ => new SparseProbingOptions().MaxTrainRows };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("probe",
            "Per binary label: test AUROC of an L2 logistic probe on the raw activations and of k-sparse probes on the SAE latents with the largest class-mean difference.");
        foreach (var option in new Option[] { saeOption, storeOption, hookOption, labelsOption, kOption, rows, seed, trainRows, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(() =>
        {
            var directory = result.GetValue(saeOption)!;
            var storePath = Path.GetFullPath(result.GetValue(storeOption)!);
            var hook = result.GetValue(hookOption)!;
            var options = new SparseProbingOptions { KValues = ParseK(result.GetValue(kOption)!), Seed = result.GetValue(seed), MaxTrainRows = result.GetValue(trainRows) }.Validate();
            using var sae = SaeCheckpoint.Load(directory);
            using var store = ActivationStore.Open(storePath);
            int hookIndex = store.HookIndex(hook);
            int d = store.Hooks[hookIndex].D;
            if (d != sae.InputDim)
                throw new SaeSharpException($"hook {hook} has width {d} but the SAE reads {sae.InputDim}", field: "--sae");
            var labels = StoreLabels.Read(storePath);
            if (labels.Rows != store.Rows)
                throw new SaeSharpException($"labels.bin has {labels.Rows} rows but the store {store.Rows}: the labels are not aligned with the store", storePath, "labels");
            long n = result.GetValue(rows) ?? store.Rows;
            if (n < 1 || n > store.Rows)
                throw new SaeSharpException($"{n} must be between 1 and the store's {store.Rows} rows", field: "--rows");
            if ((long)n * d > Array.MaxLength)
                throw new SaeSharpException($"{n} rows of width {d} do not fit one array; pass fewer", field: "--rows");

            var names = SelectLabels(labels, result.GetValue(labelsOption));
            var x = new float[n * d];
            for (long start = 0; start < n; start += 4096)
            {
                int count = (int)Math.Min(4096, n - start);
                store.ReadRows(hookIndex, start, count, x.AsSpan((int)(start * d), count * d));
            }
            var y = new float[n * names.Length];
            for (int j = 0; j < names.Length; j++)
            {
                var column = labels.Column(labels.Names.ToList().IndexOf(names[j]));
                for (long i = 0; i < n; i++) y[i * names.Length + j] = column[i] ? 1 : 0;
            }
            using var xND = tensor(x, [n, d]);
            using var yNY = tensor(y, [n, names.Length]);
            var results = SparseProbing.Run(sae, xND, yNY, names, options);
            var report = ProbeOutput.From(Path.GetFullPath(directory), storePath, hook, n, results);
            if (result.GetValue(json))
            {
                CliJson.Print(report, CliJsonContext.Default.ProbeOutput);
            }
            else
            {
                foreach (var label in report.Labels)
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{label.Label,-24} positives {label.Positives,7}  baseline {label.BaselineAuroc:F4}  {string.Join("  ", label.Sparse.Select(s => $"k={s.K} {s.Auroc:F4}"))}{(label.FitsAtIterationLimit > 0 ? $"  ({label.FitsAtIterationLimit} fits at the iteration limit)" : "")}"));
            }
            return Task.FromResult(0);
        }));
        return command;
    }

    private static int[] ParseK(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
                throw new SaeSharpException($"\"{parts[i]}\" is not a latent count (a whole number, at least 1)", field: "--k");
        return values;
    }

    private static string[] SelectLabels(StoreLabels labels, string? selection)
    {
        if (selection is null) return [.. labels.Names];
        var names = selection.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in names)
            if (!labels.Names.Contains(name))
                throw new SaeSharpException($"the store has no label \"{name}\"; it has {string.Join(", ", labels.Names)}", field: "--labels");
        return [.. names.Distinct()];
    }
}
