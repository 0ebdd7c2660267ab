namespace SaeSharp;

/// <summary>
/// The one exception family of SaeSharp: thrown at boundaries (loaders, constructors, configs,
/// the tool) for input that is wrong, with the file and field concerned and what was expected.
/// </summary>
public class SaeSharpException : Exception
{
    /// <summary>Creates an error; <paramref name="filePath"/> and <paramref name="field"/> name where it is.</summary>
    public SaeSharpException(string message, string? filePath = null, string? field = null, Exception? inner = null)
        : base(Compose(message, filePath, field), inner)
    {
        FilePath = filePath;
        Field = field;
    }

    /// <summary>The file that is wrong, when a file is.</summary>
    public string? FilePath { get; }

    /// <summary>The field, tensor or option that is wrong, when one is.</summary>
    public string? Field { get; }

    private static string Compose(string message, string? filePath, string? field) =>
        (filePath, field) switch
        {
            (not null, not null) => $"{filePath}: {field}: {message}",
            (not null, null) => $"{filePath}: {message}",
            (null, not null) => $"{field}: {message}",
            _ => message,
        };
}
