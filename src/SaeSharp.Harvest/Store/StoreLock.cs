namespace SaeSharp.Harvest.Store;

/// <summary>
/// The exclusive writer lock of a store folder: <c>.lock</c> opened with <see cref="FileShare.None"/>, which .NET
/// backs with an advisory <c>flock</c> on Unix, so the kernel drops it when the writer dies (even by kill -9).
/// </summary>
internal sealed class StoreLock : IDisposable
{
    public const string FileName = ".lock";
    private readonly FileStream _stream;
    private readonly string _path;

    private StoreLock(FileStream stream, string path)
    {
        _stream = stream;
        _path = path;
    }

    public static StoreLock Acquire(string storeDir)
    {
        var path = Path.Combine(storeDir, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new SaeSharpException("another harvest is writing this store (its lock file .lock is held); wait for it or stop it", storeDir, inner: e);
        }
        stream.SetLength(0);
        var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
        stream.Write(pid);
        stream.Flush();
        return new StoreLock(stream, path);
    }

    public void Dispose()
    {
        // Unlink while still holding the lock so no other writer can slip in between.
        try { File.Delete(_path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        _stream.Dispose();
    }
}
