namespace SaeSharp.Training.Fused;

/// <summary>
/// (row, latent) pairs with a positive activation, bucketed by latent: latent l owns entries
/// <c>Start[l] .. Start[l+1]</c>. Buffers are reused from step to step.
/// </summary>
internal sealed class LatentBuckets<T> where T : unmanaged
{
    public int Count { get; set; }
    public int[] Start { get; private set; } = [0];
    public int[] Cursor { get; private set; } = [];
    public int[] GradRow { get; private set; } = [];
    public int[] InputRow { get; private set; } = [];
    public T[] Activation { get; private set; } = [];

    public void Reset(int latents, int capacity)
    {
        if (Start.Length < latents + 1) { Start = new int[latents + 1]; Cursor = new int[latents]; }
        if (GradRow.Length < capacity)
        {
            GradRow = new int[capacity]; InputRow = new int[capacity]; Activation = new T[capacity];
        }
        Count = 0;
    }
}
