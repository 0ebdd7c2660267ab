namespace SaeSharp.Cli.Commands;

/// <summary>
/// Small helpers of the harvest-side commands (errors and exit codes go through CommandRunner, which also rewrites
/// the libraries' field names into the flags that set them).
/// </summary>
internal static class HarvestCli
{
    /// <summary>Runs a synchronous handler body for CommandRunner.RunAsync; its errors surface there in the tool's terms.</summary>
    public static Task<int> Sync(Func<int> body) => Task.FromResult(body());
}
