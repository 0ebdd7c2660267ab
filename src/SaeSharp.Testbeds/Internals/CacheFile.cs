namespace SaeSharp.Testbeds.Internals;

/// <summary>
/// Writes a cache file so that a reader sees either no file or the whole one: written beside the target, then
/// renamed over it. A cache entry can always be rebuilt, so unlike the store's writes this does not flush to disk.
/// </summary>
internal static class CacheFile
{
    public static void WriteAllText(string path, string text)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
