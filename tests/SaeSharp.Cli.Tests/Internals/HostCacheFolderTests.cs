using SaeSharp.Cli.Internals;

namespace SaeSharp.Cli.Tests.Internals;

/// <summary>The tool, not the libraries, resolves the default host cache from the environment.</summary>
[Collection(ModAddHostsCollection.Name)]
public sealed class HostCacheFolderTests
{
    [Fact]
    public void Default_RespectsXdgCacheHome_ElseHomeCache()
    {
        var previous = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        try
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "/tmp/xdg-test");
            Assert.Equal("/tmp/xdg-test/saesharp/hosts", HostCacheFolder.Default());
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", null);
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            Assert.Equal(Path.Combine(home, ".cache", "saesharp", "hosts"), HostCacheFolder.Default());
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", previous);
        }
    }
}
