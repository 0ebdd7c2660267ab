namespace SaeSharp.Cli.Internals;

/// <summary>
/// Where the tool keeps trained testbed hosts unless told otherwise: <c>$XDG_CACHE_HOME/saesharp/hosts</c>, with
/// XDG_CACHE_HOME defaulting to <c>~/.cache</c>. The libraries read no environment variables; the tool resolves this
/// once and passes the folder in.
/// </summary>
internal static class HostCacheFolder
{
    public static string Default()
    {
        var cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cacheHome))
            cacheHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cacheHome, "saesharp", "hosts");
    }
}
