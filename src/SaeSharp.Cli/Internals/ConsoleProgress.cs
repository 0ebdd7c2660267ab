using Spectre.Console;

namespace SaeSharp.Cli.Internals;

/// <summary>
/// Draws progress on stderr (stdout stays clean for --json): a live bar with rate and ETA on a terminal,
/// plain status lines when stderr is redirected.
/// </summary>
internal static class ConsoleProgress
{
    /// <summary>One update: units done, total units, and an optional status line.</summary>
    public readonly record struct Update(double Done, double Total, string? Status);

    public static async Task<T> RunAsync<T>(string title, bool quiet, Func<IProgress<Update>, Task<T>> work)
    {
        if (quiet)
            return await work(new Progress<Update>(_ => { }));
        if (Console.IsErrorRedirected)
        {
            var lastLine = DateTime.MinValue;
            var lines = new SynchronousProgress(update =>
            {
                if (update.Status is null && DateTime.UtcNow - lastLine < TimeSpan.FromSeconds(5)) return;
                lastLine = DateTime.UtcNow;
                Console.Error.WriteLine($"{title}: {update.Done:N0}/{update.Total:N0}{(update.Status is null ? "" : " " + update.Status)}");
            });
            return await work(lines);
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title));
                var reporter = new SynchronousProgress(update =>
                {
                    task.MaxValue = Math.Max(update.Total, 1);
                    task.Value = update.Done;
                    if (update.Status is not null) task.Description = Markup.Escape($"{title} {update.Status}");
                });
                result = await work(reporter);
            });
        return result;
    }

    /// <summary>Calls back on the reporting thread (Progress&lt;T&gt; would post to a thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress(Action<Update> report) : IProgress<Update>
    {
        private readonly Lock _gate = new();

        public void Report(Update value)
        {
            lock (_gate) report(value);
        }
    }
}
