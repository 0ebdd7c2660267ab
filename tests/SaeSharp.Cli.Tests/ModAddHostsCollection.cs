namespace SaeSharp.Cli.Tests;

/// <summary>
/// Tests that train or load the cached modular-addition hosts run one after another, so that a cold cache trains
/// each host once instead of twice at the same time on a 2-core machine.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ModAddHostsCollection
{
    public const string Name = "ModAddHosts";
}
