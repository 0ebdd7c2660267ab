using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using SaeSharp.IO;

namespace SaeSharp.Cli.Output;

/// <summary>Writes the output records through <see cref="CliJsonContext"/>: on stdout (the contract of every <c>--json</c> flag) or to a file.</summary>
internal static class CliJson
{
    /// <summary>The record as indented JSON, without a trailing newline.</summary>
    public static string Serialize<T>(T value, JsonTypeInfo<T> typeInfo) => JsonSerializer.Serialize(value, typeInfo);

    /// <summary>The record on one line (for outputs that can be long lists, such as token ids).</summary>
    public static string SerializeCompact<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
            JsonSerializer.Serialize(writer, value, typeInfo);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Prints one JSON value on stdout.</summary>
    public static void Print<T>(T value, JsonTypeInfo<T> typeInfo) => Console.Out.WriteLine(Serialize(value, typeInfo));

    /// <summary>Writes the record to <paramref name="path"/> atomically.</summary>
    public static void WriteFile<T>(string path, T value, JsonTypeInfo<T> typeInfo) => AtomicFile.WriteAllText(path, Serialize(value, typeInfo));

    /// <summary>
    /// The record's top-level fields as <c>name value</c> lines, for the human-readable output of commands whose text is
    /// the JSON's fields (nested objects and arrays are skipped unless <paramref name="withArrays"/>, which prints them as JSON).
    /// </summary>
    public static string Lines<T>(T value, JsonTypeInfo<T> typeInfo, int nameWidth, bool withArrays = false)
    {
        var fields = (JsonObject)JsonSerializer.SerializeToNode(value, typeInfo)!;
        return string.Join("\n", fields
            .Where(kv => withArrays || kv.Value is JsonValue)
            .Select(kv => $"{kv.Key.PadRight(nameWidth)} {(withArrays ? kv.Value?.ToJsonString() : kv.Value?.ToString())}"));
    }
}
