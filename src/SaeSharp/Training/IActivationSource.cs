using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// Where a trainer pulls activation rows from. Sources are deterministic: the rows returned depend only
/// on the source's own settings (seed included) and <see cref="Position"/>, so a run that saves the
/// position and later calls <see cref="Seek"/> sees exactly the rows it would have seen unstopped.
/// </summary>
public interface IActivationSource : IDisposable
{
    /// <summary>Width D of each activation row.</summary>
    int InputDim { get; }

    /// <summary>Rows handed out so far (the data cursor saved with a checkpoint).</summary>
    long Position { get; }

    /// <summary>Rows in one pass over the data, or null for an endless source.</summary>
    long? RowCount { get; }

    /// <summary>The next <paramref name="batchSize"/> rows as a new float32 CPU tensor <c>[B, D]</c>; the caller disposes it.</summary>
    Tensor NextBatch(int batchSize);

    /// <summary>Continues from a position earlier reported by <see cref="Position"/>.</summary>
    void Seek(long position);

    /// <summary>
    /// Where the row handed out at <paramref name="position"/> lives (file, shard, row), for messages about a bad
    /// row; null when the source cannot tell. Called only after something went wrong, so it may be slow.
    /// </summary>
    string? DescribeRow(long position) => null;
}
