using SaeSharp.Training;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders;

/// <summary>
/// Puts S sources side by side: each batch is <c>[B, S·D]</c>, row b holding source 0's row, then source 1's,
/// and so on, for the same token position. The sources must hand out aligned rows in the same order: hooks of
/// one activation store read with the same options (the order depends only on the seed and position, not the
/// hook), stores harvested from the same corpus with the same settings, or in-memory tensors whose row i is
/// the same input (<see cref="FromTensors"/>).
/// </summary>
public sealed class PairedActivationSource : IActivationSource
{
    private readonly IActivationSource[] _sources;

    /// <summary>Pairs <paramref name="sources"/> (this object owns and disposes them).</summary>
    /// <exception cref="SaeSharpException">There are none, their widths differ, or they are at different positions or row counts.</exception>
    public PairedActivationSource(IReadOnlyList<IActivationSource> sources)
    {
        if (sources.Count == 0)
            throw new SaeSharpException("needs at least one source", field: "sources");
        var first = sources[0];
        for (int i = 1; i < sources.Count; i++)
        {
            if (sources[i].InputDim != first.InputDim)
                throw new SaeSharpException($"source {i} has width {sources[i].InputDim} but source 0 has {first.InputDim}; a crosscoder needs equal widths", field: "sources");
            if (sources[i].RowCount != first.RowCount)
                throw new SaeSharpException($"source {i} has {sources[i].RowCount} rows but source 0 has {first.RowCount}; paired rows must line up", field: "sources");
            if (sources[i].Position != first.Position)
                throw new SaeSharpException($"source {i} is at row {sources[i].Position} but source 0 at {first.Position}", field: "sources");
        }
        _sources = sources.ToArray();
        SourceWidth = first.InputDim;
    }

    /// <summary>
    /// A shuffled in-memory paired source over <paramref name="rowsPerSourceND"/> (S tensors <c>[N, D]</c> whose
    /// row i is the same input), shuffled with one seed so the rows stay aligned.
    /// </summary>
    /// <exception cref="SaeSharpException">The tensors differ in shape or are not 2-D.</exception>
    public static PairedActivationSource FromTensors(IReadOnlyList<Tensor> rowsPerSourceND, long seed = 0, bool shuffle = true)
    {
        if (rowsPerSourceND.Count == 0)
            throw new SaeSharpException("needs at least one tensor", field: "sources");
        foreach (var rows in rowsPerSourceND)
            if (rows.dim() != 2 || !rows.shape.SequenceEqual(rowsPerSourceND[0].shape))
                throw new SaeSharpException($"source tensors must all be [N, D] of one shape; got [{string.Join(", ", rows.shape)}] and [{string.Join(", ", rowsPerSourceND[0].shape)}]", field: "sources");
        return new PairedActivationSource(rowsPerSourceND.Select(r => (IActivationSource)new InMemoryActivationSource(r, seed, shuffle)).ToArray());
    }

    /// <summary>S: the number of sources.</summary>
    public int SourceCount => _sources.Length;

    /// <summary>D: each source's width.</summary>
    public int SourceWidth { get; }

    /// <inheritdoc />
    public int InputDim => SourceCount * SourceWidth;

    /// <inheritdoc />
    public long Position => _sources[0].Position;

    /// <inheritdoc />
    public long? RowCount => _sources[0].RowCount;

    /// <inheritdoc />
    public Tensor NextBatch(int batchSize)
    {
        using var scope = NewDisposeScope();
        var parts = _sources.Select(s => s.NextBatch(batchSize)).ToArray();
        for (int i = 1; i < parts.Length; i++)
            if (parts[i].shape[0] != parts[0].shape[0])
                throw new SaeSharpException($"source {i} returned {parts[i].shape[0]} rows but source 0 returned {parts[0].shape[0]}", field: "sources");
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Seek(long position)
    {
        foreach (var source in _sources) source.Seek(position);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var source in _sources) source.Dispose();
    }
}
