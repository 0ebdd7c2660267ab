using System.CommandLine;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Evaluation;
using SaeSharp.IO;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp eval</c>: reconstruction and sparsity of a saved SAE on held-out rows of its source.</summary>
internal static class EvalCommand
{
    internal static Command Create()
    {
        var saeOption = new Option<string>("--sae") { Description = "SAE folder (SAELens layout).", Required = true };
        var batches = new Option<int>("--batches") { Description = "Batches to evaluate.", DefaultValueFactory = _ => 8 };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per batch.", DefaultValueFactory = _ => 4096 };
        var json = new Option<bool>("--json") { Description = "Print the metrics as one JSON object." };
        var command = new Command("eval", "Evaluate a saved SAE: mse, fvu, l0, dead and dense fractions.");
        foreach (var option in new Option[] { saeOption, batches, batchSize, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(() =>
        {
            var directory = result.GetValue(saeOption)!;
            using var sae = SaeCheckpoint.Load(directory);
            using var source = SourceOptions.Reopen(Training.SaeTrainer.ReadMetadata(directory), directory);
            // Held out: synthetic rows far past anything training read; stores are evaluated from their start.
            if (source.RowCount is null)
                source.Seek(1L << 50);
            var metrics = SaeEvaluator.Evaluate(sae, source, result.GetValue(batches), result.GetValue(batchSize));
            double? recovered = source is Training.SyntheticActivationSource synthetic ? synthetic.RecoveredFraction(sae.DecoderWeights) : null;
            var report = EvalOutput.From(Path.GetFullPath(directory), SaeCheckpoint.ArchitectureName(sae.Config.Architecture), sae.InputDim, sae.LatentCount,
                metrics, recovered);
            if (result.GetValue(json))
                CliJson.Print(report, CliJsonContext.Default.EvalOutput);
            else
                Console.Out.WriteLine(CliJson.Lines(report, CliJsonContext.Default.EvalOutput, nameWidth: 20));
            return Task.FromResult(0);
        }));
        return command;
    }
}
