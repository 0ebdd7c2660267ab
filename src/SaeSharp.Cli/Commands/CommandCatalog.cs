using System.CommandLine;

namespace SaeSharp.Cli.Commands;

/// <summary>Every top-level command of the tool, one line each (each command lives in its own file).</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return BenchCommand.Create();
        yield break;
    }
}
