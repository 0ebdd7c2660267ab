namespace SaeSharp.Hosts;

/// <summary>
/// How one layer's attention is masked: global (causal) or local (causal and at most
/// <see cref="Window"/> positions back, GPT-Neo's <c>local</c> layers).
/// </summary>
/// <param name="Window">Null for global attention; otherwise query i sees keys j with i − Window &lt; j ≤ i.</param>
public readonly record struct HostAttention(int? Window)
{
    /// <summary>Causal attention over every earlier position.</summary>
    public static HostAttention Global => new(null);

    /// <summary>Causal attention over the last <paramref name="window"/> positions (the query's own included).</summary>
    public static HostAttention Local(int window) => new(window);

    /// <summary>Whether this layer's attention is windowed.</summary>
    public bool IsLocal => Window is not null;

    /// <inheritdoc/>
    public override string ToString() => Window is { } w ? $"local({w})" : "global";
}
