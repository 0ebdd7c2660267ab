using System.CommandLine;
using System.CommandLine.Invocation;

namespace SaeSharp.Cli.Internals;

/// <summary>
/// The tool's one error policy: a <see cref="SaeSharpException"/> (bad input), a parse error, or a file-system
/// failure (disk full, a folder that cannot be written, a path that is a file or a folder where the other was
/// wanted) prints one <c>error: message</c> line to stderr and exits 2; cancellation (Ctrl+C) exits 130; anything
/// else is a bug and exits 1 with its trace.
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
            await Console.Error.WriteLineAsync($"error: {(InFlags(e) ?? e).Message}");
            return BadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // .NET's messages name the path ("Access to the path '/x' is denied.", "No space left on device : '/x'").
            await Console.Error.WriteLineAsync($"error: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("stopped.");
            return Cancelled;
        }
    }

    /// <summary>
    /// The one <c>error:</c> line for a command line that does not parse (unknown option, bad value, missing required
    /// option or command), naming the help to read; null when it parses or asks for help or the version.
    /// </summary>
    public static string? ParseFailure(ParseResult parsed)
    {
        if (parsed.Errors.Count == 0 || parsed.Action is not ParseErrorAction) return null;
        var names = new List<string>();
        for (var symbol = parsed.CommandResult; symbol is not null; symbol = symbol.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, symbol.Command is RootCommand ? "saesharp" : symbol.Command.Name);
        var messages = string.Join("; ", parsed.Errors.Select(e => OneLine(e.Message).TrimEnd('.')).Distinct());
        return $"error: {messages} (see `{string.Join(' ', names)} --help`)";
    }

    private static string OneLine(string message) => string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>
    /// The libraries name what is wrong by field (<c>tokens</c>, <c>learning_rate</c>, <c>overwrite</c>): the field names of
    /// <c>HarvestConfig</c>, <c>OnnxHostOptions</c>, the store API, <c>TrainConfig</c> and <c>TrainerOptions</c>, and the flags that set them.
    /// </summary>
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        ["model_path"] = "--model", ["hooks"] = "--hooks", ["hook"] = "--hook", ["output_path"] = "--out",
        ["tokenizer_path"] = "--tokenizer", ["corpus_path"] = "--corpus", ["corpus_format"] = "--corpus-format",
        ["text_field"] = "--text-field", ["token_ids_path"] = "--token-ids", ["context_length"] = "--context",
        ["tokens"] = "--tokens", ["batch_size"] = "--batch-size", ["dtype"] = "--dtype", ["rows_per_shard"] = "--shard-rows",
        ["seed"] = "--seed", ["bos"] = "--bos", ["resume"] = "--resume", ["shard"] = "--shard", ["parts"] = "STORE",
        ["IntraOpThreads"] = "--threads", ["DeviceId"] = "--device", ["ExecutionProvider"] = "--provider",
        ["steps"] = "--steps", ["learning_rate"] = "--lr", ["sparsity_coefficient"] = "--sparsity-coefficient",
        ["dead_window_tokens"] = "--dead-window", ["checkpoint_every"] = "--checkpoint-every", ["log_every"] = "--log-every",
        ["step_kind"] = "--step", ["overwrite"] = "--force", ["latent_count"] = "--latents", ["k"] = "--k",
        ["allow_non_finite"] = "--allow-non-finite", ["threads"] = "--threads",
        ["rows"] = "--rows", ["fit_fraction"] = "--fit-fraction", ["test_fraction"] = "--test-fraction",
    };

    /// <summary>The error with its field and the backticked field names in its message replaced by flags; null when nothing maps.</summary>
    public static SaeSharpException? InFlags(SaeSharpException e)
    {
        string prefix = (e.FilePath, e.Field) switch
        {
            (not null, not null) => $"{e.FilePath}: {e.Field}: ",
            (not null, null) => $"{e.FilePath}: ",
            (null, not null) => $"{e.Field}: ",
            _ => "",
        };
        if (!e.Message.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var message = e.Message[prefix.Length..];
        foreach (var (field, flag) in Flags) message = message.Replace($"`{field}`", flag, StringComparison.Ordinal);
        var mappedField = e.Field is not null && Flags.TryGetValue(e.Field, out var f) ? f : e.Field;
        if (message == e.Message[prefix.Length..] && mappedField == e.Field) return null;
        return new SaeSharpException(message, e.FilePath, mappedField, e);
    }

    /// <summary>Rejects an output folder that already holds something unless --force was given.</summary>
    public static void EnsureWritable(string path, bool force, string what)
    {
        bool exists = Directory.Exists(path) ? Directory.EnumerateFileSystemEntries(path).Any() : File.Exists(path);
        if (exists && !force)
            throw new SaeSharpException($"already exists and is not empty; choose another {what} or pass --force to replace it", path);
    }
}
