using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// The story host's vectors of word pairs under relations, ready for <c>CrystalGeometry.Analyze</c>: row i of
/// <see cref="FirstPD"/> and <see cref="SecondPD"/> belong to <see cref="Pairs"/>[i]. Owns the tensors.
/// </summary>
/// <param name="Pairs">The pairs both of whose words occurred in the stories read.</param>
/// <param name="FirstPD">Mean residual of each pair's first word <c>[P, D]</c>, float32.</param>
/// <param name="SecondPD">Mean residual of each pair's second word <c>[P, D]</c>.</param>
/// <param name="HookPoint">The residual point read (<c>resid_post.1</c> and the like).</param>
/// <param name="Occurrences">Occurrences averaged per pair, first word then second.</param>
public sealed record StoryRelationVectors(
    IReadOnlyList<StoryRelationPair> Pairs, Tensor FirstPD, Tensor SecondPD, string HookPoint, IReadOnlyList<(int First, int Second)> Occurrences) : IDisposable
{
    /// <summary>The relation of each pair, in row order.</summary>
    public IReadOnlyList<string> Relations => [.. Pairs.Select(p => p.Relation)];

    /// <inheritdoc/>
    public void Dispose()
    {
        FirstPD.Dispose();
        SecondPD.Dispose();
    }
}
