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

    /// <summary>
    /// Runs <paramref name="work"/> while drawing its progress on stderr, whatever stdout carries (a --json command
    /// draws it too: minutes without a sign of life read as a hang); <paramref name="quiet"/> draws nothing.
    /// </summary>
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
        var (barWidth, descriptionWidth) = Layout(console.Profile.Width);
        T result = default!;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn { Width = barWidth }, new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(Fit(title, null, descriptionWidth)));
                var reporter = new SynchronousProgress(update =>
                {
                    task.MaxValue = Math.Max(update.Total, 1);
                    task.Value = update.Done;
                    if (update.Status is not null) task.Description = Markup.Escape(Fit(title, update.Status, descriptionWidth));
                });
                result = await work(reporter);
            });
        return result;
    }

    /// <summary>
    /// The bar's width and the width left for the description on a terminal of <paramref name="terminalWidth"/>
    /// columns. Spectre gives the description what the other columns leave and shows a description that does not fit
    /// as a lone ellipsis, so the bar shrinks on a narrow terminal and the description is cut to fit (<see cref="Fit"/>).
    /// </summary>
    internal static (int BarWidth, int DescriptionWidth) Layout(int terminalWidth)
    {
        // Percentage "100%", remaining time "00:00:00", spinner, and one space of padding around each of five columns.
        const int Fixed = 4 + 8 + 1 + 10;
        int bar = Math.Clamp(terminalWidth / 5, 10, 40);
        return (bar, Math.Max(terminalWidth - Fixed - bar, 8));
    }

    /// <summary>
    /// <paramref name="title"/> and <paramref name="status"/> in at most <paramref name="width"/> characters: the status
    /// is cut at a word boundary and marked with an ellipsis, the title kept whole where it fits.
    /// </summary>
    internal static string Fit(string title, string? status, int width)
    {
        var full = status is null ? title : $"{title} {status}";
        if (full.Length <= width) return full;
        if (title.Length + 2 > width) return title[..Math.Max(width - 1, 0)] + "…";
        int cut = full.LastIndexOf(' ', width - 1);
        if (cut <= title.Length) cut = width - 1;
        return full[..cut].TrimEnd(',', ' ') + "…";
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
