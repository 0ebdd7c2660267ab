using System.Text.Json.Nodes;

namespace SaeSharp.Cli.Commands;

/// <summary>
/// Small helpers of the harvest-side commands (errors and exit codes go through CommandRunner). The harvest library
/// names its settings by field (<c>tokens</c>, <c>context_length</c>); <see cref="Sync"/> rewrites those names into
/// the flags that set them before the error reaches the user.
/// </summary>
internal static class HarvestCli
{
    /// <summary>Field names of <c>HarvestConfig</c>, <c>OnnxHostOptions</c> and the store API, and the flags that set them.</summary>
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        ["model_path"] = "--model", ["hooks"] = "--hooks", ["hook"] = "--hook", ["output_path"] = "--out",
        ["tokenizer_path"] = "--tokenizer", ["corpus_path"] = "--corpus", ["corpus_format"] = "--corpus-format",
        ["text_field"] = "--text-field", ["token_ids_path"] = "--token-ids", ["context_length"] = "--context",
        ["tokens"] = "--tokens", ["batch_size"] = "--batch-size", ["dtype"] = "--dtype", ["rows_per_shard"] = "--shard-rows",
        ["seed"] = "--seed", ["bos"] = "--bos", ["resume"] = "--resume",
        ["IntraOpThreads"] = "--threads", ["DeviceId"] = "--device", ["ExecutionProvider"] = "--provider",
    };

    /// <summary>Runs a synchronous handler body for CommandRunner.RunAsync; its errors surface there in the tool's terms.</summary>
    public static Task<int> Sync(Func<int> body)
    {
        try
        {
            return Task.FromResult(body());
        }
        catch (SaeSharpException e) when (InFlags(e) is { } mapped)
        {
            throw mapped;
        }
    }

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

    public static JsonArray Array<T>(IEnumerable<T> items, Func<T, JsonNode?> map) => new(items.Select(map).ToArray());
}
