namespace SaeSharp.Harvest.Internals;

/// <summary>
/// A tiny deterministic generator (SplitMix64) whose output is fixed by this code alone, so that orders chosen
/// from a seed stay the same across .NET versions and machines (System.Random promises no such thing).
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    public static ulong Mix(ulong a, ulong b) => new SplitMix64(a ^ (b * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL)).Next();

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) (bound &gt; 0), without modulo bias.</summary>
    public long NextBelow(long bound)
    {
        ulong b = (ulong)bound, limit = ulong.MaxValue - ulong.MaxValue % b;
        ulong x;
        do { x = Next(); } while (x >= limit);
        return (long)(x % b);
    }

    /// <summary>A permutation of 0..n-1 (Fisher–Yates).</summary>
    public static long[] Permutation(long n, ulong seed)
    {
        var order = new long[n];
        for (long i = 0; i < n; i++) order[i] = i;
        var rng = new SplitMix64(seed);
        for (long i = n - 1; i > 0; i--)
        {
            long j = rng.NextBelow(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
