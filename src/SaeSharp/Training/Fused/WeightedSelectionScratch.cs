namespace SaeSharp.Training.Fused;

/// <summary>
/// Buffers <see cref="CrosscoderKernels.WeightedBatchTopK"/> reuses from step to step (allocating the candidate lists
/// afresh each step cost more in garbage collection than the selection itself at the demo's size).
/// </summary>
internal sealed class WeightedSelectionScratch<T> where T : unmanaged
{
    /// <summary>One candidate: its row, latent, raw value pre + bias and ranking key relu(value)·w.</summary>
    internal readonly record struct Candidate(int Row, int Latent, T Value, T Key);

    /// <summary>Per row chunk, the candidates found there (grown by doubling, never shrunk).</summary>
    public Candidate[][] Chunks { get; private set; } = [];

    /// <summary>How many of each chunk's entries are meaningful.</summary>
    public int[] ChunkCounts { get; private set; } = [];

    /// <summary>All candidates in (row, latent) order; the first <see cref="Count"/> are meaningful.</summary>
    public Candidate[] All { get; set; } = [];

    public int Count { get; set; }

    /// <summary>The keys of the bucket that holds the cut, for sorting.</summary>
    public T[] CutKeys { get; set; } = [];

    public void EnsureChunks(int chunks)
    {
        if (Chunks.Length >= chunks) return;
        var grown = new Candidate[chunks][];
        for (int c = 0; c < chunks; c++) grown[c] = c < Chunks.Length ? Chunks[c] : [];
        Chunks = grown;
        ChunkCounts = new int[chunks];
    }
}
