using System.CommandLine;
using System.Globalization;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Evaluation;
using SaeSharp.Training;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp train</c>: train an SAE on a source, or resume a stopped run.</summary>
internal static class TrainCommand
{
    internal static Command Create()
    {
        var sourceOptions = new SourceOptions();
        var defaults = new TrainConfig();
        var arch = new Option<string>("--arch") { Description = "Architecture: topk, batchtopk, jumprelu or relu.", DefaultValueFactory = _ => "topk" };
        arch.AcceptOnlyFromAmong("topk", "batchtopk", "jumprelu", "relu");
        var latents = new Option<int>("--latents") { Description = "Dictionary size L.", DefaultValueFactory = _ => 512 };
        var k = new Option<int>("--k") { Description = "Active latents per row (TopK family).", DefaultValueFactory = _ => 8 };
        var steps = new Option<int>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => defaults.Steps };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per step.", DefaultValueFactory = _ => defaults.BatchSize };
        var learningRate = new Option<double?>("--lr") { Description = "Adam learning rate (default: 2e-4 / sqrt(L / 2^14))." };
        var sparsity = new Option<double?>("--sparsity-coefficient") { Description = "L1 (relu) or L0 (jumprelu) coefficient (default: relu 5, jumprelu 1)." };
        var deadWindow = new Option<long>("--dead-window") { Description = "Tokens without firing after which a latent is dead.", DefaultValueFactory = _ => defaults.DeadWindowTokens };
        var seed = new Option<long>("--seed") { Description = "Seed of the weights (and of the synthetic source unless --source-seed).", DefaultValueFactory = _ => defaults.Seed };
        var step = new Option<string>("--step") { Description = "Training step: auto, autograd or fused.", DefaultValueFactory = _ => defaults.StepKind.ToString().ToLowerInvariant() };
        step.AcceptOnlyFromAmong("auto", "autograd", "fused");
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (0: only at the end).", DefaultValueFactory = _ => defaults.CheckpointEvery };
        var logEvery = new Option<int>("--log-every") { Description = "Steps between metric records.", DefaultValueFactory = _ => defaults.LogEvery };
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Do not scale activations to mean norm sqrt(D)." };
        var tensorBoard = new Option<bool>("--tensorboard") { Description = "Also write TensorBoard event files." };
        var output = new Option<string?>("--out") { Description = "Output folder (SAELens layout plus training state)." };
        var force = new Option<bool>("--force") { Description = "Replace an SAE already in --out." };
        var resume = new Option<string?>("--resume") { Description = "Continue the stopped run in this folder (other options are taken from it)." };
        var json = new Option<bool>("--json") { Description = "Print the final metrics as one JSON object." };
        var sweep = new Option<string?>("--sweep") { Description = "Train one run of this sweep grid (see saesharp sweep); with --index." };
        var sweepIndex = new Option<int?>("--index") { Description = "With --sweep: the run to train, from 0 (a scheduler's task index)." };

        var command = new Command("train", "Train a sparse autoencoder (or resume one with --resume DIR).");
        sourceOptions.AddTo(command);
        foreach (var option in new Option[] { arch, latents, k, steps, batchSize, learningRate, sparsity, deadWindow, seed, step, checkpointEvery, logEvery, noNormalize, tensorBoard, output, force, resume, json, sweep, sweepIndex })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(() =>
            result.GetValue(sweep) is { } grid ? TrainSweepRun(result, grid, cancellationToken) : Train(result, null, cancellationToken)));
        return command;

        // One run of a sweep is the train command line the grid gives it (plus what else was on this one).
        Task<int> TrainSweepRun(ParseResult result, string gridPath, CancellationToken cancellationToken)
        {
            int index = result.GetValue(sweepIndex) ?? throw new SaeSharpException("--sweep needs --index I, the run to train (saesharp sweep --grid FILE lists them)", field: "--index");
            var grid = SweepGrid.Read(gridPath);
            var run = grid.Run(index);
            var forwarded = new List<string>();
            foreach (var option in result.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>())
            {
                if (option.Implicit || option.Option == sweep || option.Option == sweepIndex) continue;
                var name = option.Option.Name.TrimStart('-');
                if (name is "out" or "resume" || run.Settings.Any(s => s.Key == name))
                    throw new SaeSharpException($"--{name} is set by the sweep (the grid, or the run's folder); leave it off the command line", grid.Path, "--" + name);
                forwarded.Add(option.IdentifierToken?.Value ?? option.Option.Name);
                forwarded.AddRange(option.Tokens.Select(t => t.Value));
            }
            var record = Path.Combine(run.Directory, SweepRunRecord.FileName);
            if (File.Exists(record))
            {
                // A retried worker (a rescheduled pod, a requeued array task) finds its run done.
                Console.Error.WriteLine($"run {index} is done already ({record}); nothing to do");
                return Task.FromResult(0);
            }
            // A run stopped part-way (its worker was killed) continues from its checkpoint; one stopped before its first
            // checkpoint left only files of its own run (metrics), which a fresh start replaces.
            bool resumable = File.Exists(Path.Combine(run.Directory, TrainingState.FileName));
            bool startedBefore = Directory.Exists(run.Directory) && Directory.EnumerateFileSystemEntries(run.Directory).Any();
            IEnumerable<string> args = resumable
                ? ["--resume", run.Directory, .. forwarded]
                : [.. run.Arguments(), .. startedBefore && !forwarded.Contains("--force") ? ["--force"] : Array.Empty<string>(), .. forwarded];
            var parsed = command.Parse(args.ToArray());
            if (parsed.Errors.Count > 0)
                throw new SaeSharpException($"run {index}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}", grid.Path, "grid");
            return Train(parsed, (run, grid.Path), cancellationToken);
        }

        async Task<int> Train(ParseResult result, (SweepRun Run, string Grid)? sweepRun, CancellationToken cancellationToken)
        {
            if (sweepRun is null && result.GetValue(sweepIndex) is not null)
                throw new SaeSharpException("--index picks a run of a sweep; give the grid with --sweep FILE", field: "--index");
            bool asJson = result.GetValue(json);
            SaeTrainer trainer;
            IActivationSource source;
            if (result.GetValue(resume) is { } resumeDirectory)
            {
                trainer = SaeTrainer.Resume(resumeDirectory);
                source = SourceOptions.Reopen(trainer.Metadata, resumeDirectory);
            }
            else
            {
                var spec = sourceOptions.Read(result, result.GetValue(seed));
                source = spec.Open();
                var saeConfig = new SaeConfig(source.InputDim, result.GetValue(latents), ParseArchitecture(result.GetValue(arch)!, result.GetValue(k))).Validate();
                var trainConfig = new TrainConfig
                {
                    Steps = result.GetValue(steps),
                    BatchSize = result.GetValue(batchSize),
                    LearningRate = result.GetValue(learningRate),
                    SparsityCoefficient = result.GetValue(sparsity),
                    DeadWindowTokens = result.GetValue(deadWindow),
                    Seed = result.GetValue(seed),
                    StepKind = Enum.Parse<TrainingStepKind>(result.GetValue(step)!, ignoreCase: true),
                    CheckpointEvery = result.GetValue(checkpointEvery),
                    LogEvery = result.GetValue(logEvery),
                    NormalizeActivations = !result.GetValue(noNormalize),
                }.Validate(saeConfig);
                trainer = new SaeTrainer(saeConfig, trainConfig, new TrainerOptions
                {
                    OutputDirectory = result.GetValue(output),
                    Overwrite = result.GetValue(force),
                    TensorBoard = result.GetValue(tensorBoard),
                    Metadata = spec.ToMetadata(),
                });
            }
            using (trainer)
            using (source)
            {
                var started = DateTime.UtcNow;
                TrainResult trained;
                try
                {
                    trained = await ConsoleProgress.RunAsync("train", quiet: false, async reporter =>
                        await trainer.TrainAsync(source, new ProgressAdapter(reporter), cancellationToken));
                }
                catch (OperationCanceledException) when ((result.GetValue(resume) ?? result.GetValue(output)) is { } runDirectory)
                {
                    await Console.Error.WriteLineAsync($"stopped at step {trainer.Step} of {trainer.TrainConfig.Steps} (checkpoint written); continue with: saesharp train --resume {runDirectory}");
                    return CommandRunner.Cancelled;
                }
                catch (OperationCanceledException)
                {
                    await Console.Error.WriteLineAsync($"stopped at step {trainer.Step} of {trainer.TrainConfig.Steps}; nothing was saved (no --out)");
                    return CommandRunner.Cancelled;
                }
                var report = Report(trained, source, (DateTime.UtcNow - started).TotalSeconds);
                if (sweepRun is var (run, gridFile))
                    CliJson.WriteFile(Path.Combine(run.Directory, SweepRunRecord.FileName), SweepRunRecord.From(run, gridFile, report), CliJsonContext.Default.SweepRunRecord);
                if (asJson)
                    CliJson.Print(report, CliJsonContext.Default.TrainOutput);
                else
                    Console.Out.WriteLine(CliJson.Lines(report, CliJsonContext.Default.TrainOutput, nameWidth: 20));
                return 0;
            }
        }
    }

    internal static SaeArchitecture ParseArchitecture(string name, int k) => name switch
    {
        "topk" => new TopKArchitecture(k),
        "batchtopk" => new BatchTopKArchitecture(k),
        "jumprelu" => new JumpReluArchitecture(),
        "relu" => new ReluArchitecture(),
        _ => throw new SaeSharpException($"unknown architecture \"{name}\" (topk, batchtopk, jumprelu, relu)", field: "--arch"),
    };

    private static TrainOutput Report(TrainResult trained, IActivationSource source, double elapsedSeconds)
    {
        // Held-out evaluation: rows after everything the run consumed (synthetic sources are endless).
        if (source.RowCount is null)
            source.Seek(source.Position + (1L << 32));
        var heldOut = SaeEvaluator.Evaluate(trained.Sae, source, batches: 4, batchSize: 4096, activationScale: trained.ActivationScale);
        double? recovered = source is SyntheticActivationSource synthetic ? synthetic.RecoveredFraction(trained.Sae.DecoderWeights) : null;
        return TrainOutput.From(trained.FinalMetrics, heldOut, recovered, trained.ActivationScale, elapsedSeconds,
            trained.OutputDirectory is null ? null : Path.GetFullPath(trained.OutputDirectory));
    }

    private sealed class ProgressAdapter(IProgress<ConsoleProgress.Update> inner) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => inner.Report(new ConsoleProgress.Update(value.Step, value.TotalSteps,
            value.Metrics is { } m
                ? string.Create(CultureInfo.InvariantCulture, $"loss {m.Loss:G4} fvu {m.Fvu:F4} l0 {m.L0:F1} dead {m.DeadFraction:P1}")
                : null));
    }
}
