using System.CommandLine;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Harvest.Onnx;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp hooks --model M [--json]</c>: the residual-stream hook points found in a decoder graph.</summary>
internal static class HooksCommand
{
    internal static Command Create()
    {
        var model = new Option<string>("--model") { Description = "ONNX decoder graph", Required = true };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = one per core)" };
        var command = new Command("hooks", "List the residual-stream hook points found in an ONNX decoder graph, with tensor names and shapes.");
        command.Options.Add(model);
        command.Options.Add(json);
        command.Options.Add(threads);
        command.SetAction((ParseResult r, CancellationToken _) => CommandRunner.RunAsync(() => HarvestCli.Sync(() =>
        {
            var graph = OnnxGraph.Load(r.GetValue(model)!);
            var hooks = HookFinder.Find(graph);
            var distinct = HookFinder.Resolve(graph, new[] { "all" });
            using var host = OnnxHost.Open(graph.SourcePath, distinct, new OnnxHostOptions { IntraOpThreads = r.GetValue(threads) });
            var width = distinct.Select((h, i) => (h.TensorName, host.HookWidths[i])).ToDictionary(x => x.TensorName, x => x.Item2);
            if (r.GetValue(json))
            {
                CliJson.Print(new HooksOutput(graph.SourcePath, host.VocabSize, hooks.Max(h => h.Layer) + 1, graph.Inputs.Select(i => i.Name).ToArray(),
                    hooks.Select(h => HookOutput.From(h, width[h.TensorName])).ToArray()), CliJsonContext.Default.HooksOutput);
            }
            else
            {
                Console.Out.WriteLine($"{graph.SourcePath}: {hooks.Max(h => h.Layer) + 1} blocks, vocabulary {host.VocabSize?.ToString() ?? "unknown"}");
                int nameWidth = hooks.Max(h => h.Name.Length);
                foreach (var h in hooks)
                    Console.Out.WriteLine($"  {h.Name.PadRight(nameWidth)}  [batch, sequence, {width[h.TensorName]}]  {h.TensorName}");
            }
            return 0;
        })));
        return command;
    }
}
