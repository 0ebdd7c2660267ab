using System.Runtime.InteropServices;

namespace SaeSharp.Cli.Internals;

/// <summary>
/// The tool's Ctrl+C: the first SIGINT or SIGTERM cancels <see cref="Token"/> so that a command stops at its next
/// durable point (a checkpoint, a committed shard) and exits 130; a second one takes the default action and ends the
/// process at once. System.CommandLine installs a handler only when a termination timeout is configured, and then
/// ends the process when that timeout runs out, possibly in the middle of a checkpoint.
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    public TerminationSignals()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _source.Token;

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _received) > 1) return;
        context.Cancel = true;
        Console.Error.WriteLine($"{context.Signal}: stopping at the next durable point (send it again to stop at once, losing work since then)");
        // Callbacks (ONNX Runtime's terminate flag among them) run off the signal thread.
        _ = _source.CancelAsync();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _source.Dispose();
    }
}
