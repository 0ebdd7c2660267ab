namespace SaeSharp.Testbeds.Demos;

/// <summary>Reports on the calling thread (<see cref="Progress{T}"/> would post to the thread pool and reorder updates).</summary>
internal sealed class CallingThreadProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
