using System.CommandLine;
using SaeSharp.Cli.Commands;
using SaeSharp.Cli.Internals;

using var signals = new TerminationSignals();
var parsed = CommandCatalog.Root().Parse(args);
if (CommandRunner.ParseFailure(parsed) is { } failure)
{
    await Console.Error.WriteLineAsync(failure);
    return CommandRunner.BadInput;
}
// No termination timeout: System.CommandLine then installs no handler of its own; ours cancels the token.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, signals.Token);
