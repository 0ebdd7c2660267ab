using System.Text.Json;
using System.Text.Json.Nodes;

namespace SaeSharp.Cli.Internals;

/// <summary>
/// The tool's one error policy: a <see cref="SaeSharpException"/> (bad input) prints <c>error: message</c>
/// to stderr and exits 2; cancellation (Ctrl+C) exits 130; anything else is a bug and exits 1 with its trace.
/// </summary>
internal static class CommandRunner
{
    public const int BadInput = 2;
    public const int Cancelled = 130;

    public static async Task<int> RunAsync(Func<Task<int>> handler)
    {
        try
        {
            return await handler();
        }
        catch (SaeSharpException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("stopped.");
            return Cancelled;
        }
    }

    /// <summary>Prints one JSON object on stdout (the contract of every --json flag).</summary>
    public static void PrintJson(JsonObject json) =>
        Console.Out.WriteLine(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Rejects an output folder that already holds something unless --force was given.</summary>
    public static void EnsureWritable(string path, bool force, string what)
    {
        bool exists = Directory.Exists(path) ? Directory.EnumerateFileSystemEntries(path).Any() : File.Exists(path);
        if (exists && !force)
            throw new SaeSharpException($"already exists and is not empty; choose another {what} or pass --force to replace it", path);
    }
}
