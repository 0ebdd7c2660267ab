using System.Diagnostics;

namespace SaeSharp.Testing;

/// <summary>Runs headless Chromium (installed by scripts/install-deps.sh) to render the HTML reports and dashboards the tests check.</summary>
internal static class HeadlessChromium
{
    /// <summary>Runs <c>chromium --headless</c> with <paramref name="args"/> and a profile under <paramref name="workFolder"/>; returns its stdout (the DOM for <c>--dump-dom</c>).</summary>
    public static string Run(string workFolder, params string[] args)
    {
        var start = new ProcessStartInfo("chromium") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var flag in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(workFolder, "chromium")}" })
            start.ArgumentList.Add(flag);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start (install it: scripts/install-deps.sh)");
        var stdout = process.StandardOutput.ReadToEndAsync();
        // Drained so that a chatty stderr cannot fill its pipe and stall the browser.
        _ = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("chromium " + string.Join(' ', args));
        }
        return stdout.Result;
    }
}
