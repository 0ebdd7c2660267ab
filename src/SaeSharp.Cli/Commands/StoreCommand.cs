using System.CommandLine;
using SaeSharp.Cli.Internals;
using System.Text.Json.Nodes;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp store inspect|export</c>: look into an activation store, or export one hook as safetensors.</summary>
internal static class StoreCommand
{
    internal static Command Create()
    {
        var command = new Command("store", "Inspect an activation store or export a hook from it.");
        command.Subcommands.Add(Inspect());
        command.Subcommands.Add(Export());
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
            var norms = s.Hooks.Select((_, i) => s.MeanNorm(i)).ToArray();
            var widths = s.Hooks.Select(h => h.D).Distinct().ToArray();
            string dtype = s.DType == StoreDType.F16 ? "f16" : "f32";
            if (r.GetValue(json))
            {
                CommandRunner.PrintJson(new JsonObject
                {
                    ["path"] = s.Path,
                    ["rows"] = s.Rows,
                    ["d"] = widths.Length == 1 ? widths[0] : null,
                    ["dtype"] = dtype,
                    ["bytes"] = s.ShardBytes,
                    ["shards"] = s.ShardCount,
                    ["rows_per_shard"] = s.RowsPerShard,
                    ["context_length"] = s.ContextLength,
                    ["complete"] = s.Complete,
                    ["model"] = s.Model.File,
                    ["hooks"] = HarvestCli.Array(s.Hooks.Select((h, i) => (h, i)), x => new JsonObject
                    {
                        ["name"] = x.h.Name, ["aliases"] = HarvestCli.Array(x.h.Aliases ?? [], a => JsonValue.Create(a)),
                        ["tensor"] = x.h.TensorName, ["d"] = x.h.D, ["mean_norm"] = norms[x.i],
                    }),
                });
            }
            else
            {
                Console.Out.WriteLine($"{s.Path}: {s.Rows} rows, {dtype}, {s.ShardBytes} bytes in {s.ShardCount} shards{(s.Complete ? "" : " (incomplete: resume the harvest)")}");
                for (int i = 0; i < s.Hooks.Count; i++)
                    Console.Out.WriteLine($"  {s.Hooks[i].Name}  d={s.Hooks[i].D}  mean norm {norms[i]:G6}  ({s.Hooks[i].TensorName})");
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
            if (File.Exists(target) && !r.GetValue(force))
                throw new SaeSharpException("file exists; pass --force to replace it", target, "--out");
            using var s = ActivationStore.Open(r.GetValue(store)!);
            s.ExportSafeTensors(r.GetValue(hook)!, target);
            Console.Error.WriteLine($"wrote {target}: {r.GetValue(hook)} [{s.Rows}, {s.Hooks[s.HookIndex(r.GetValue(hook)!)].D}] F32");
            return 0;
        })));
        return command;
    }
}
