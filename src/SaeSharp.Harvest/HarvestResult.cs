namespace SaeSharp.Harvest;

/// <summary>What a harvest wrote.</summary>
/// <param name="StorePath">The store folder.</param>
/// <param name="Rows">Rows stored per hook.</param>
/// <param name="Hooks">Hook names, in store order.</param>
/// <param name="Shards">Shard count.</param>
/// <param name="Resumed">Whether this run continued an earlier one.</param>
/// <param name="Seconds">Wall time of this run.</param>
/// <param name="TokensThisRun">Tokens run through the model in this run.</param>
public sealed record HarvestResult(string StorePath, long Rows, IReadOnlyList<string> Hooks, int Shards, bool Resumed, double Seconds, long TokensThisRun);
