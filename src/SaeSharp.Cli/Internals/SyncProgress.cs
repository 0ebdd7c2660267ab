namespace SaeSharp.Cli.Internals;

/// <summary>
/// Reports on the calling thread. <see cref="Progress{T}"/> posts to the thread pool, which reorders and
/// delays updates from a long-running worker.
/// </summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
