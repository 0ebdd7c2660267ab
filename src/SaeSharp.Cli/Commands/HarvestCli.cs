using System.Text.Json;
using System.Text.Json.Nodes;

namespace SaeSharp.Cli.Commands;

/// <summary>Plumbing shared by the harvest-side commands: error reporting and JSON output.</summary>
internal static class HarvestCli
{
    public const int ErrorExitCode = 2;
    public const int InterruptedExitCode = 130;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs a handler body; a SaeSharpException becomes `error: message` on stderr and exit code 2.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (SaeSharpException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ErrorExitCode;
        }
    }

    public static void PrintJson(JsonNode node) => Console.Out.WriteLine(node.ToJsonString(Indented));

    public static JsonArray Array<T>(IEnumerable<T> items, Func<T, JsonNode?> map) => new(items.Select(map).ToArray());
}
