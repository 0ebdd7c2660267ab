using Microsoft.Extensions.Logging;

namespace SaeSharp.Internals;

/// <summary>The library's log messages (source-generated; nothing is written to the console).</summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "step {Step}: loss {Loss:G4}, fvu {Fvu:G4}, l0 {L0:F1}, dead {Dead:P1}")]
    public static partial void Metrics(ILogger logger, long step, double loss, double fvu, double l0, double dead);

    [LoggerMessage(Level = LogLevel.Information, Message = "checkpoint at step {Step} written to {Directory}")]
    public static partial void Checkpoint(ILogger logger, long step, string directory);
}
