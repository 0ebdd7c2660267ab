using System.CommandLine;

namespace SaeSharp.Cli.Commands;

/// <summary>Every top-level command of the tool, one line each (each command lives in its own file).</summary>
internal static class CommandCatalog
{
    /// <summary>The tool's root command with every command below it (what <c>Program</c> runs; tests parse with it in-process).</summary>
    public static RootCommand Root()
    {
        var root = new RootCommand("saesharp: sparse autoencoders and crosscoders on language-model activations.");
        foreach (var command in All())
            root.Subcommands.Add(command);
        return root;
    }

    public static IEnumerable<Command> All()
    {
        yield return DemoCommand.Create();
        yield return TrainCommand.Create();
        yield return SweepCommand.Create();
        yield return EvalCommand.Create();
        yield return HostCommand.Create();
        yield return HooksCommand.Create();
        yield return HarvestCommand.Create();
        yield return StoreCommand.Create();
        yield return TokenizeCommand.Create();
        yield return BenchCommand.Create();
        yield return CrosscoderCommand.Create();
        yield return AnalyzeCommand.Create();
        yield return LoraCommand.Create();
    }
}
