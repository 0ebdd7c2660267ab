namespace SaeSharp.Harvest.Store;

/// <summary>
/// Ground-truth binary labels for every row of an activation store: a list of label names and, per row, which of
/// them hold. Kept in <c>labels.bin</c> inside the store folder (docs/store-format.md, "Row labels"), tied to the
/// store by its row count and input fingerprint. Rows are in harvest order, so row r is position p of sequence s
/// with <see cref="SequenceLengths"/> giving the split; only stores harvested from exact token ids carry labels.
/// </summary>
public sealed class StoreLabels
{
    /// <summary>The label file's name inside the store folder.</summary>
    public const string FileName = "labels.bin";

    private readonly ulong[] _bits;
    private readonly int _wordsPerRow;

    internal StoreLabels(IReadOnlyList<string> names, IReadOnlyList<int> sequenceLengths, long rows, int wordsPerRow, ulong[] bits)
    {
        Names = names;
        SequenceLengths = sequenceLengths;
        Rows = rows;
        _wordsPerRow = wordsPerRow;
        _bits = bits;
    }

    /// <summary>The label names; label <c>l</c> is <c>Names[l]</c>.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Tokens of each input sequence, in harvest order; they sum to <see cref="Rows"/>.</summary>
    public IReadOnlyList<int> SequenceLengths { get; }

    /// <summary>Labelled rows: the store's row count.</summary>
    public long Rows { get; }

    /// <summary>Whether label <paramref name="label"/> holds for row <paramref name="row"/>.</summary>
    public bool Has(long row, int label)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, Names.Count);
        return (_bits[row * _wordsPerRow + (label >> 6)] >> (label & 63) & 1UL) != 0;
    }

    /// <summary>Label <paramref name="label"/> for every row: a detector's ground truth, <c>[Rows]</c>.</summary>
    public bool[] Column(int label)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, Names.Count);
        var column = new bool[Rows];
        int word = label >> 6, bit = label & 63;
        for (long r = 0; r < Rows; r++) column[r] = (_bits[r * _wordsPerRow + word] >> bit & 1UL) != 0;
        return column;
    }

    /// <summary>Row <paramref name="row"/>'s first bitset word: labels 0 to 63 (what <see cref="Write"/> takes per token).</summary>
    internal ulong FirstWord(long row) => _bits[row * _wordsPerRow];

    /// <summary>Rows where label <paramref name="label"/> holds (its support).</summary>
    public long Count(int label) => Column(label).LongCount(b => b);

    /// <summary>
    /// Reads <c>labels.bin</c> of the store at <paramref name="storePath"/> and checks it against the store's manifest
    /// (row count and input fingerprint) as well as its own structure and checksum.
    /// </summary>
    /// <exception cref="SaeSharpException">No label file or no store there, a truncated or corrupt file, an unknown version, or labels of another store.</exception>
    public static StoreLabels Read(string storePath)
    {
        var full = Path.GetFullPath(storePath);
        var manifest = StoreManifest.Read(full);
        return StoreLabelsFile.Read(Path.Combine(full, FileName), manifest);
    }

    /// <summary>
    /// Writes <c>labels.bin</c> into the finished store at <paramref name="storePath"/>, atomically: one bitset per
    /// token, sequence by sequence in the order the sequences were harvested (bit l of a token's bitset is
    /// <paramref name="names"/>[l]; at most 64 labels through this overload).
    /// </summary>
    /// <exception cref="SaeSharpException">The store is missing, unfinished or not harvested from token ids; the rows do not add up to the store's; a label file exists and <paramref name="overwrite"/> is false; or the names are empty, repeated or too many.</exception>
    public static void Write(string storePath, IReadOnlyList<string> names, IReadOnlyList<IReadOnlyList<ulong>> sequences, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(sequences);
        var full = Path.GetFullPath(storePath);
        var manifest = StoreManifest.Read(full);
        StoreLabelsFile.Write(Path.Combine(full, FileName), manifest, names, sequences, overwrite);
    }
}
