using System.CommandLine;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp store inspect|export|merge</c>: look into an activation store, export one hook as safetensors, or join the parts of a split harvest.</summary>
internal static class StoreCommand
{
    internal static Command Create()
    {
        var command = new Command("store", "Inspect an activation store, export a hook from it, or merge the parts of a split harvest.");
        command.Subcommands.Add(Inspect());
        command.Subcommands.Add(Export());
        command.Subcommands.Add(Merge());
        return command;
    }

    private static Command Inspect()
    {
        var store = new Argument<string>("STORE") { Description = "store folder" };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var command = new Command("inspect", "Rows, hooks, widths, dtype, bytes and mean row norm of a store; verifies every shard's checksum.");
        command.Arguments.Add(store);
        command.Options.Add(json);
        command.SetAction((ParseResult r, CancellationToken _) => CommandRunner.RunAsync(() => HarvestCli.Sync(() =>
        {
            using var s = ActivationStore.Open(r.GetValue(store)!);
            var summary = StoreInspectOutput.From(s);
            if (r.GetValue(json))
            {
                CliJson.Print(summary, CliJsonContext.Default.StoreInspectOutput);
            }
            else
            {
                Console.Out.WriteLine($"{summary.Path}: {summary.Rows} rows, {summary.Dtype}, {summary.Bytes} bytes in {summary.Shards} shards{(summary.Complete ? "" : " (incomplete: resume the harvest)")}");
                foreach (var h in summary.Hooks)
                    Console.Out.WriteLine($"  {h.Name}  d={h.D}  mean norm {h.MeanNorm:G6}  ({h.Tensor}){(h.NonFiniteValues > 0 ? $"  {h.NonFiniteValues:N0} NaN or infinite values in {h.NonFiniteRows:N0} rows" : "")}");
            }
            return 0;
        })));
        return command;
    }

    private static Command Export()
    {
        var store = new Argument<string>("STORE") { Description = "store folder" };
        var hook = new Option<string>("--hook") { Description = "hook to export", Required = true };
        var output = new Option<string>("--out") { Description = "safetensors file to write", Required = true };
        var force = new Option<bool>("--force") { Description = "replace an existing output file" };
        var command = new Command("export", "Write one hook as a safetensors file: one F32 tensor [rows, d] named by the hook, rows in harvest order.");
        command.Arguments.Add(store);
        command.Options.Add(hook);
        command.Options.Add(output);
        command.Options.Add(force);
        command.SetAction((ParseResult r, CancellationToken _) => CommandRunner.RunAsync(() => HarvestCli.Sync(() =>
        {
            var target = Path.GetFullPath(r.GetValue(output)!);
            if (Directory.Exists(target))
                throw new SaeSharpException("is a folder; --out names the safetensors file to write", target, "--out");
            if (File.Exists(target) && !r.GetValue(force))
                throw new SaeSharpException("file exists; pass --force to replace it", target, "--out");
            using var s = ActivationStore.Open(r.GetValue(store)!);
            s.ExportSafeTensors(r.GetValue(hook)!, target);
            Console.Error.WriteLine($"wrote {target}: {r.GetValue(hook)} [{s.Rows}, {s.Hooks[s.HookIndex(r.GetValue(hook)!)].D}] F32");
            return 0;
        })));
        return command;
    }

    private static Command Merge()
    {
        var parts = new Argument<string[]>("STORE") { Description = "the stores of every part (harvest --shard I/N), in any order", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "store folder to create (must be new or empty)", Required = true };
        var force = new Option<bool>("--force") { Description = "replace a store already in --out" };
        var json = new Option<bool>("--json") { Description = "print a JSON summary" };
        var command = new Command("merge", "Join the parts of a split harvest into one store equal to the single-process harvest (rows in part order; labels too).");
        command.Arguments.Add(parts);
        command.Options.Add(output);
        command.Options.Add(force);
        command.Options.Add(json);
        command.SetAction((ParseResult r, CancellationToken _) => CommandRunner.RunAsync(() => HarvestCli.Sync(() =>
        {
            var result = StoreMerge.Merge(r.GetValue(parts)!, r.GetValue(output)!, r.GetValue(force));
            if (r.GetValue(json))
                CliJson.Print(StoreMergeOutput.From(result), CliJsonContext.Default.StoreMergeOutput);
            else
                Console.Error.WriteLine($"merged {result.Parts} parts into {result.StorePath}: {result.Rows} rows in {result.Shards} shards{(result.Labels ? ", with labels" : "")}");
            return 0;
        })));
        return command;
    }
}
