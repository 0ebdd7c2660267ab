namespace SaeSharp.Crosscoders;

/// <summary>A crosscoder read from a folder, with the per-source scales its weights expect. Disposing it disposes the module.</summary>
/// <param name="Crosscoder">The module (in eval mode).</param>
/// <param name="SourceScales">Multiply source s's raw activations by entry s before encoding, <c>[S]</c>.</param>
/// <param name="Step">Training steps behind the weights.</param>
public sealed record LoadedCrosscoder(Crosscoder Crosscoder, IReadOnlyList<double> SourceScales, long Step) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Crosscoder.Dispose();
}
