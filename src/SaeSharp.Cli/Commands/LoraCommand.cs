using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Evaluation;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Tokenization;
using SaeSharp.Hosts;
using SaeSharp.IO;
using SaeSharp.Lora;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Cli.Commands;

/// <summary>
/// <c>saesharp lora</c>: trains LoRA adapters on the blocks after a frozen SAE's hook so that the host with the SAE
/// spliced in predicts like the clean host; reports the CE gap before and after on held-out stories, saves the adapters
/// in PEFT layout and the merged host as ONNX.
/// </summary>
internal static class LoraCommand
{
    internal static Command Create()
    {
        var hostOption = new Option<string>("--host") { Description = "Host folder in Hugging Face GPT-Neo layout with vocab_map.json and heldout_stories.txt (what `demo --host stories` reports as host_path).", Required = true };
        var saeOption = new Option<string>("--sae") { Description = "SAE folder (SAELens layout) trained on one of the host's hooks.", Required = true };
        var outOption = new Option<string>("--out") { Description = "Run folder: adapters, checkpoints, metrics.jsonl, merged ONNX. A folder with a checkpoint resumes.", Required = true };
        var hookOption = new Option<string?>("--hook") { Description = "Hook point the SAE reads (default: the SAE's saesharp_hook_name)." };
        var rank = new Option<int>("--rank") { Description = "Adapter rank r.", DefaultValueFactory = _ => new LoraConfig().Rank };
        var alpha = new Option<double>("--alpha") { Description = "LoRA alpha (updates are scaled by alpha / r).", DefaultValueFactory = _ => new LoraConfig().Alpha };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated blocks to adapt (default: every block after the SAE's hook)." };
        var modules = new Option<string?>("--modules") { Description = "Comma-separated projections to adapt (default: q_proj,k_proj,v_proj,out_proj,c_fc,c_proj)." };
        var steps = new Option<int>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => new LoraTrainOptions().Steps };
        var batchSize = new Option<int>("--batch-size") { Description = "Stories per step.", DefaultValueFactory = _ => new LoraTrainOptions().BatchSize };
        var lr = new Option<double>("--lr") { Description = "AdamW learning rate.", DefaultValueFactory = _ => new LoraTrainOptions().LearningRate };
        var stories = new Option<int>("--train-stories") { Description = "Fresh stories generated for training (a seed the host never saw).", DefaultValueFactory = _ => 3000 };
        var seed = new Option<long>("--seed") { Description = "Seed of the adapters, batch order and training stories.", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "libtorch threads (0: its default)." };
        var force = new Option<bool>("--force") { Description = "Replace what --out holds instead of resuming from it." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("lora", "Train LoRA adapters around a frozen, spliced SAE and report the CE gap they close.");
        foreach (var option in new Option[] { hostOption, saeOption, outOption, hookOption, rank, alpha, layers, modules, steps, batchSize, lr, stories, seed, threads, force, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var total = Stopwatch.StartNew();
            if (result.GetValue(threads) is > 0 and var threadCount) TorchSharp.torch.set_num_threads(threadCount);
            var hostDir = Path.GetFullPath(result.GetValue(hostOption)!);
            var saeDir = Path.GetFullPath(result.GetValue(saeOption)!);
            var outDir = Path.GetFullPath(result.GetValue(outOption)!);
            bool resumable = File.Exists(Path.Combine(outDir, LoraTrainer.StateFileName)) || File.Exists(Path.Combine(outDir, "checkpoint.json"));
            if (result.GetValue(force) && Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
            else if (!resumable) CommandRunner.EnsureWritable(outDir, force: false, "--out");

            using var host = GptNeoFolder.Load(hostDir);
            var vocabulary = CompactVocabulary.Load(Path.Combine(hostDir, CompactVocabulary.FileName));
            using var sae = SaeCheckpoint.Load(saeDir);
            var hook = result.GetValue(hookOption) ?? HookOf(saeDir);
            SplicedEvaluator.CheckSplice(host, sae, hook);
            var config = new LoraConfig
            {
                Rank = result.GetValue(rank),
                Alpha = result.GetValue(alpha),
                Layers = ParseInts(result.GetValue(layers), "--layers"),
                Modules = result.GetValue(modules) is { } m ? m.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : LoraConfig.AllModules,
            };
            var trainOptions = new LoraTrainOptions { Steps = result.GetValue(steps), BatchSize = result.GetValue(batchSize), LearningRate = result.GetValue(lr), Seed = result.GetValue(seed) };
            using var adapters = LoraAdapters.Create(host, config, AfterHook(host, hook), trainOptions.Seed);

            var tokenizer = Gpt2Tokenizer.Gpt2();
            long[] Compact(IReadOnlyList<int> ids) => ids.Select(id => vocabulary.Contains(id) ? vocabulary.ToCompact([id])[0] : vocabulary.UnknownIndex).ToArray();
            var heldOutPath = Path.Combine(hostDir, StoryHost.HeldOutFileName);
            var heldOutIds = StoryHost.ReadHeldOut(heldOutPath).Select(tokenizer.Encode).Where(ids => ids.Length >= 2).ToArray();
            var heldOut = heldOutIds.Select(ids => Compact(ids)).ToArray();
            if (heldOut.Length == 0) throw new SaeSharpException("holds no story of two or more tokens", heldOutPath);
            // Fresh stories from the host's generator under another seed: the host never trained on them.
            ulong storySeed = 1_000_003UL + (ulong)trainOptions.Seed;
            var train = new StoryGenerator(new StoryGeneratorOptions { Seed = storySeed }).Generate(result.GetValue(stories))
                .Select(s => Compact(s.TokenIds)).Where(ids => ids.Length >= 2 && ids.Length - 1 <= host.Config.ContextLength).ToArray();

            var evalOptions = new SplicedEvaluationOptions { Hook = hook, Ablations = false };
            var before = SplicedEvaluator.Evaluate(host, sae, heldOut, evalOptions, cancellationToken: cancellationToken);
            Directory.CreateDirectory(outDir);
            var trainer = new LoraTrainer(trainOptions);
            var run = await ConsoleProgress.RunAsync("lora", quiet: result.GetValue(json), progress => Task.Run(() =>
                trainer.Train(host, sae, hook, adapters, train, outDir, new Progress<LoraProgress>(p => progress.Report(
                    new ConsoleProgress.Update(p.Step, p.TotalSteps, string.Create(CultureInfo.InvariantCulture, $"kl {p.Kl:G3}{(p.ValidationKl is { } v ? $" val {v:G3}" : "")}")))),
                    cancellationToken)));
            var after = SplicedEvaluator.Evaluate(host, sae, heldOut, evalOptions, adapters.Attach(host), cancellationToken);

            var adaptersPath = Path.Combine(outDir, "adapters");
            adapters.SavePeft(adaptersPath);
            // The merged host with the SAE in the graph, measured through ONNX Runtime on the tokenizer's ids: the path the harvester runs.
            var onnxPath = Path.Combine(outDir, "merged-spliced.onnx");
            using (var merged = adapters.Merge(host))
                OnnxExporter.Export(merged, onnxPath, new OnnxExportOptions { Vocabulary = vocabulary, AttentionMask = true, Splice = (hook, sae) });
            var onnx = OnnxNextTokenLoss.Evaluate(onnxPath, heldOutIds, cancellationToken: cancellationToken);

            var report = LoraOutput.From(hostDir, saeDir, hook, adapters.Config, train.Length, heldOut.Length, before, after, run, adaptersPath, onnxPath, onnx.MeanLoss, total.Elapsed.TotalSeconds);
            if (result.GetValue(json))
                CliJson.Print(report, CliJsonContext.Default.LoraOutput);
            else
                Console.Out.WriteLine(CliJson.Lines(report, CliJsonContext.Default.LoraOutput, nameWidth: 22));
            return 0;
        }));
        return command;
    }

    /// <summary>The SAE's hook as the trainer recorded it in cfg.json's metadata.</summary>
    private static string HookOf(string saeDir)
    {
        var path = Path.Combine(saeDir, SaeCheckpoint.ConfigFileName);
        using var document = StrictJson.Parse(StrictJson.ReadUtf8File(path), path);
        if (document.RootElement.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            && metadata.TryGetProperty("saesharp_hook_name", out var hook) && hook.ValueKind == JsonValueKind.String)
            return hook.GetString()!;
        throw new SaeSharpException("names no saesharp_hook_name in its metadata; pass --hook", path, "metadata");
    }

    /// <summary>Blocks after the hook: resid_post.i → i+1.., resid_pre.i / resid_mid.i → i.. (resid_mid's own MLP comes after it too).</summary>
    private static int[] AfterHook(HostTransformer host, string hook)
    {
        var parts = hook.Split('.');
        int layer = int.Parse(parts[1], CultureInfo.InvariantCulture);
        int first = parts[0] == "resid_post" ? layer + 1 : layer;
        return Enumerable.Range(first, Math.Max(0, host.Config.LayerCount - first)).ToArray();
    }

    private static int[]? ParseInts(string? text, string flag)
    {
        if (text is null) return null;
        try
        {
            return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new SaeSharpException($"is '{text}'; expected comma-separated block indices like 3,4", field: flag);
        }
    }
}
