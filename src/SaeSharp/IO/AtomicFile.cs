namespace SaeSharp.IO;

/// <summary>
/// Writes files so that a reader sees either the old content or the whole new one: write a temporary
/// file beside the target, flush it to disk, then rename it over the target.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> writeContent)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}{TemporarySuffix}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                writeContent(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var writer = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true);
            writer.Write(text);
        });

    private const string TemporarySuffix = ".tmp";

    /// <summary>The file-name pattern of the temporaries <see cref="Write"/> leaves beside <paramref name="fileName"/> when killed mid-write.</summary>
    public static string TemporaryPattern(string fileName) => $".{fileName}.*{TemporarySuffix}";

    /// <summary>Whether <paramref name="name"/> is such a temporary of <paramref name="fileName"/>.</summary>
    public static bool IsTemporaryOf(string name, string fileName) =>
        name.StartsWith($".{fileName}.", StringComparison.Ordinal) && name.EndsWith(TemporarySuffix, StringComparison.Ordinal);

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
