namespace SaeSharp.Dashboards;

/// <summary>One top-activating context: rows [<see cref="FirstRow"/>, FirstRow + Values.Length) with the latent's value on each.</summary>
internal sealed record LatentContext(long PeakRow, float PeakValue, long FirstRow, float[] Values);

/// <summary>A token and its logit effect.</summary>
internal readonly record struct TokenEffect(string Token, float Value);

/// <summary>Everything shown for one latent.</summary>
internal sealed record LatentPanel(
    int Latent, long ActiveRows, float MaxActivation, long[] Histogram, IReadOnlyList<LatentContext> Contexts,
    IReadOnlyList<TokenEffect> Promoted, IReadOnlyList<TokenEffect> Suppressed);
