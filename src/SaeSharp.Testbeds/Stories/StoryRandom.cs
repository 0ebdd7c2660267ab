namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// SplitMix64: the generator's only source of randomness, fixed by this code so that a seed gives the same
/// stories everywhere (System.Random's algorithm is unspecified).
/// </summary>
internal sealed class StoryRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound), without modulo bias.</summary>
    public int Below(int bound)
    {
        ulong b = (ulong)bound, limit = ulong.MaxValue - ulong.MaxValue % b;
        ulong x;
        do { x = Next(); } while (x >= limit);
        return (int)(x % b);
    }

    /// <summary>True with probability <paramref name="p"/> (53-bit uniform draw).</summary>
    public bool Chance(double p) => (Next() >> 11) * (1.0 / (1UL << 53)) < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];
}
