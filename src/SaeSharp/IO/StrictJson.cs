using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.Unicode;

namespace SaeSharp.IO;

/// <summary>
/// How SaeSharp's packages read the JSON they are given: the bytes must be valid UTF-8 (checked before parsing, since
/// System.Text.Json reports a bad byte inside a string only when the string is read, and not as a
/// <see cref="JsonException"/>), a key may appear only once in an object, and every failure is one
/// <see cref="SaeSharpException"/> naming the file and field.
/// </summary>
public static class StrictJson
{
    /// <summary>Parsing options: duplicate keys refused, nesting limited to 64 levels.</summary>
    public static JsonDocumentOptions DocumentOptions { get; } = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    /// <summary>Reads a whole file and checks that it is UTF-8.</summary>
    /// <exception cref="SaeSharpException">The file cannot be read or is not UTF-8.</exception>
    public static byte[] ReadUtf8File(string path, string? field = null)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SaeSharpException($"cannot be read: {e.Message}", path, field, e);
        }
        CheckUtf8(bytes, path, field);
        return bytes;
    }

    /// <summary>Refuses bytes that are not valid UTF-8, naming the offset of the first bad byte.</summary>
    /// <exception cref="SaeSharpException">The bytes are not UTF-8.</exception>
    public static void CheckUtf8(ReadOnlySpan<byte> bytes, string origin, string? field = null)
    {
        if (Utf8.IsValid(bytes)) return;
        int valid = 0;
        while (valid < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes[valid..], out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done) break;
            valid += consumed;
        }
        throw new SaeSharpException($"is not valid UTF-8 (bad byte at offset {valid})", origin, field);
    }

    /// <summary>Parses UTF-8 JSON strictly (see the class remarks).</summary>
    /// <exception cref="SaeSharpException">The bytes are not UTF-8 or not valid JSON, or an object repeats a key.</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string origin, string? field = null)
    {
        CheckUtf8(utf8.Span, origin, field);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new SaeSharpException($"is not valid JSON: {e.Message}", origin, field, e);
        }
        catch (InvalidOperationException e)
        {
            // The duplicate-key check unescapes names, and a lone surrogate escape ("\ud800") fails there.
            throw new SaeSharpException($"holds a string that is not valid Unicode: {e.Message}", origin, field, e);
        }
        try
        {
            CheckStrings(document.RootElement, origin, field);
        }
        catch
        {
            document.Dispose();
            throw;
        }
        return document;
    }

    /// <summary>
    /// Unescapes every name and string once: valid UTF-8 may still escape a lone surrogate (<c>"\ud800"</c>), which
    /// <see cref="JsonElement.GetString"/> reports with <see cref="InvalidOperationException"/> wherever it is read.
    /// </summary>
    private static void CheckStrings(JsonElement element, string origin, string? field)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        CheckStrings(property.Value, origin, field);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray()) CheckStrings(item, origin, field);
                    break;
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
            }
        }
        catch (InvalidOperationException e)
        {
            throw new SaeSharpException($"holds a string that is not valid Unicode: {e.Message}", origin, field, e);
        }
    }

    /// <summary>Parses JSON text strictly (a string carries no invalid UTF-8, so only the JSON is checked).</summary>
    /// <exception cref="SaeSharpException">The text is not valid JSON, or an object repeats a key.</exception>
    public static JsonDocument Parse(string json, string origin, string? field = null) =>
        Parse(Encoding.UTF8.GetBytes(json), origin, field);

    /// <summary>
    /// Deserialises UTF-8 JSON with a source-generated <paramref name="typeInfo"/> after parsing it strictly; a
    /// <c>null</c> document, a wrong type or a missing required member is refused.
    /// </summary>
    /// <exception cref="SaeSharpException">The bytes are not strict JSON or not a <typeparamref name="T"/>.</exception>
    public static T Deserialize<T>(ReadOnlyMemory<byte> utf8, JsonTypeInfo<T> typeInfo, string origin, string? field = null) where T : class
    {
        using var document = Parse(utf8, origin, field);
        return Deserialize(document, typeInfo, origin, field);
    }

    /// <summary>Deserialises JSON text; see <see cref="Deserialize{T}(ReadOnlyMemory{byte}, JsonTypeInfo{T}, string, string?)"/>.</summary>
    /// <exception cref="SaeSharpException">The text is not strict JSON or not a <typeparamref name="T"/>.</exception>
    public static T Deserialize<T>(string json, JsonTypeInfo<T> typeInfo, string origin, string? field = null) where T : class =>
        Deserialize(Encoding.UTF8.GetBytes(json), typeInfo, origin, field);

    /// <summary>Deserialises an already strictly parsed document.</summary>
    /// <exception cref="SaeSharpException">The document is not a <typeparamref name="T"/>.</exception>
    public static T Deserialize<T>(JsonDocument document, JsonTypeInfo<T> typeInfo, string origin, string? field = null) where T : class
    {
        ArgumentNullException.ThrowIfNull(document);
        try
        {
            return document.Deserialize(typeInfo) ?? throw new SaeSharpException("is null", origin, field);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new SaeSharpException($"is not a valid {typeof(T).Name}: {e.Message}", origin, field, e);
        }
    }
}
