namespace SaeSharp.Training.Fused;

/// <summary>
/// The latents a batch selected, row by row (CSR): row b owns entries <c>RowStart[b] .. RowStart[b+1]</c>
/// of <see cref="Latent"/> and <see cref="Value"/>. Values are the raw pre-activations (bias included), so
/// the activation is <c>max(value, 0)</c> and an entry with value ≤ 0 carries no gradient. Buffers are
/// reused from step to step; only the first <see cref="Count"/> entries are meaningful.
/// </summary>
internal sealed class SparseSelection<T> where T : unmanaged
{
    public int Rows { get; private set; }
    public int Count { get; set; }
    public int[] RowStart { get; private set; } = [0];
    public int[] Latent { get; private set; } = [];
    public T[] Value { get; private set; } = [];

    /// <summary>Set when a row held NaN pre-activations (or fewer than k comparable values).</summary>
    public bool NonFinite { get; set; }

    /// <summary>Makes room for <paramref name="rows"/> rows and <paramref name="capacity"/> entries.</summary>
    public void Reset(int rows, int capacity)
    {
        Rows = rows;
        Count = 0;
        NonFinite = false;
        if (RowStart.Length < rows + 1) RowStart = new int[rows + 1];
        if (Latent.Length < capacity)
        {
            Latent = new int[capacity];
            Value = new T[capacity];
        }
    }
}
