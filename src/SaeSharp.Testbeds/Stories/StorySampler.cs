using SaeSharp.Hosts;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// Samples text from a story model: each prompt is extended one token at a time from softmax(logits / temperature)
/// until the model writes the end token or the sequence reaches its length limit. The random numbers come from the
/// generator's own SplitMix64 (<see cref="StoryRandom"/>), one stream per prompt, so the same model, prompts, seed
/// and hooks give the same samples, and two runs whose logits agree exactly (steering with α = 0 and no steering)
/// give the same text.
/// </summary>
public static class StorySampler
{
    /// <summary>Rows sampled in one batch.</summary>
    private const int BatchRows = 64;

    /// <summary>
    /// The prompts' continuations, in compact ids, prompt included; a sequence ends with <paramref name="endIndex"/>
    /// when the model wrote it. Prompts must all have the same length. Each new token costs one position
    /// (<see cref="HostTransformer.ForwardIncremental"/> with a key/value cache); <paramref name="hooks"/> act on the
    /// new positions.
    /// </summary>
    public static IReadOnlyList<long[]> Sample(HostTransformer model, IReadOnlyList<long[]> prompts, long endIndex, int maxLength,
        double temperature, ulong seed, HostHooks? hooks = null, CancellationToken cancellationToken = default) =>
        Run(model, prompts, endIndex, maxLength, temperature, seed, hooks, useCache: true, cancellationToken);

    /// <summary>
    /// The plain twin of <see cref="Sample"/>: the whole prefix is run again for every new token, with hooks on every
    /// position. Same random draws, so the same text wherever the two paths' probabilities agree.
    /// </summary>
    internal static IReadOnlyList<long[]> SampleWithoutCache(HostTransformer model, IReadOnlyList<long[]> prompts, long endIndex, int maxLength,
        double temperature, ulong seed, HostHooks? hooks = null, CancellationToken cancellationToken = default) =>
        Run(model, prompts, endIndex, maxLength, temperature, seed, hooks, useCache: false, cancellationToken);

    private static long[][] Run(HostTransformer model, IReadOnlyList<long[]> prompts, long endIndex, int maxLength,
        double temperature, ulong seed, HostHooks? hooks, bool useCache, CancellationToken cancellationToken)
    {
        if (prompts.Count == 0) return [];
        int promptLength = prompts[0].Length;
        if (promptLength < 1 || prompts.Any(p => p.Length != promptLength))
            throw new SaeSharpException("prompts must be non-empty and of one length", field: "prompts");
        if (maxLength <= promptLength || maxLength > model.Config.ContextLength)
            throw new SaeSharpException($"is {maxLength}; must exceed the prompt length {promptLength} and be at most the context length {model.Config.ContextLength}", field: "max_length");
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new SaeSharpException($"is {temperature}; must be positive", field: "temperature");
        var result = new long[prompts.Count][];
        bool wasTraining = model.training;
        model.eval();
        using var noGrad = no_grad();
        using var inverse = (1.0 / temperature).ToScalar();
        for (int start = 0; start < prompts.Count; start += BatchRows)
        {
            int rows = Math.Min(BatchRows, prompts.Count - start);
            var sequences = Enumerable.Range(start, rows).Select(i => new List<long>(prompts[i])).ToArray();
            var rngs = Enumerable.Range(start, rows).Select(i => new StoryRandom(seed ^ (0x9E37_79B9_7F4A_7C15UL * (ulong)(i + 1)))).ToArray();
            // The unfinished rows, in cache order: every row of a batch has the same length, since all prompts do.
            var active = Enumerable.Range(0, rows).ToList();
            using var cache = useCache ? model.CreateKvCache(rows) : null;
            for (int length = promptLength; length < maxLength && active.Count > 0; length++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                // With the cache only the tokens it has not read yet are fed: the prompt first, then one token a step.
                int fed = cache is null ? length : length - cache.Length;
                var ids = new long[active.Count * fed];
                for (int a = 0; a < active.Count; a++)
                    for (int t = 0; t < fed; t++)
                        ids[a * fed + t] = sequences[active[a]][length - fed + t];
                using var idsBT = tensor(ids, [active.Count, fed]);
                var logitsBTV = cache is null ? model.Forward(idsBT, hooks) : model.ForwardIncremental(idsBT, cache, hooks);
                var logitsBV = logitsBTV.select(1, fed - 1).to_type(ScalarType.Float64);
                var probabilities = logitsBV.mul(inverse).softmax(1).contiguous().data<double>().ToArray();
                int v = (int)logitsBV.shape[1];
                var stillActive = new List<long>(active.Count);
                for (int a = 0; a < active.Count; a++)
                {
                    int r = active[a];
                    long next = Draw(probabilities.AsSpan(a * v, v), rngs[r]);
                    sequences[r].Add(next);
                    if (next != endIndex) stillActive.Add(a);
                }
                if (stillActive.Count < active.Count)
                {
                    if (cache is not null && stillActive.Count > 0) cache.KeepRows(stillActive);
                    active = stillActive.Select(a => active[(int)a]).ToList();
                }
            }
            for (int r = 0; r < rows; r++) result[start + r] = sequences[r].ToArray();
        }
        if (wasTraining) model.train();
        return result;
    }

    /// <summary>An index drawn with the given probabilities (the last index takes any rounding remainder).</summary>
    private static long Draw(ReadOnlySpan<double> probabilities, StoryRandom rng)
    {
        double u = (rng.Next() >> 11) * (1.0 / (1UL << 53));
        double cumulative = 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            cumulative += probabilities[i];
            if (u < cumulative) return i;
        }
        return probabilities.Length - 1;
    }
}
