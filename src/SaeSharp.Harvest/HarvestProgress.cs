namespace SaeSharp.Harvest;

/// <summary>A harvest's progress, reported after every batch.</summary>
/// <param name="Tokens">Tokens (rows per hook) harvested so far, committed or pending.</param>
/// <param name="TargetTokens">Tokens the harvest aims for (the input may hold fewer).</param>
/// <param name="TokensPerSecond">Throughput of this run so far.</param>
/// <param name="CommittedShards">Shards durable on disk.</param>
public sealed record HarvestProgress(long Tokens, long TargetTokens, double TokensPerSecond, int CommittedShards)
{
    /// <summary>Estimated time left at the current rate, or null before any throughput is known.</summary>
    public TimeSpan? Eta => TokensPerSecond > 0 ? TimeSpan.FromSeconds(Math.Max(0, TargetTokens - Tokens) / TokensPerSecond) : null;
}
