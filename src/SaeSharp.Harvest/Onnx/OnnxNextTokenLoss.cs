using SaeSharp.Hosts;

namespace SaeSharp.Harvest.Onnx;

/// <summary>
/// Next-token cross-entropy of a language-model graph run by ONNX Runtime: what another runtime would measure on the
/// same file, and the check that an export computes the loss its TorchSharp model reported.
/// </summary>
public static class OnnxNextTokenLoss
{
    /// <summary>
    /// Mean −log softmax(logits[t])[ids[t+1]] over every position t &lt; n−1 of every sequence, each fed alone from its
    /// first token (batched by <see cref="OnnxHost"/> with right padding, which the causal attention keeps out of real
    /// positions). The log-softmax runs in double precision over the whole logits row.
    /// </summary>
    /// <param name="modelPath">An ONNX decoder with an output named <paramref name="logitsName"/> of shape [batch, sequence, V].</param>
    /// <param name="sequences">Token ids as the graph takes them, each at least two long.</param>
    /// <param name="logitsName">The logits output (default <c>logits</c>).</param>
    /// <param name="batchSize">Sequences per ONNX Runtime call; the logits of a call are held at once (B·T·V floats).</param>
    /// <param name="options">How to load the model.</param>
    /// <param name="cancellationToken">Stops between and inside calls.</param>
    /// <exception cref="SaeSharpException">The model cannot be loaded or run, a sequence is shorter than two tokens, or an id is outside the vocabulary.</exception>
    public static LanguageModelEvaluation Evaluate(string modelPath, IReadOnlyList<int[]> sequences, string logitsName = OnnxExporter.OutputName,
        int batchSize = 4, OnnxHostOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (sequences.Count == 0) throw new SaeSharpException("is empty; the loss needs at least one sequence", field: nameof(sequences));
        if (batchSize < 1) throw new SaeSharpException($"is {batchSize}; must be at least 1", field: nameof(batchSize));
        for (int i = 0; i < sequences.Count; i++)
            if (sequences[i].Length < 2)
                throw new SaeSharpException($"sequence {i} has {sequences[i].Length} tokens; next-token prediction needs at least 2", field: nameof(sequences));
        using var host = OnnxHost.Open(modelPath, [new HookPoint(logitsName, logitsName, -1, "tensor")], options);
        int width = host.HookWidths[0];
        double total = 0;
        long count = 0;
        for (int start = 0; start < sequences.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = sequences.Skip(start).Take(batchSize).ToArray();
            var rows = host.Run(batch, cancellationToken)[0];
            long row = 0;
            foreach (var sequence in batch)
            {
                for (int t = 0; t < sequence.Length - 1; t++)
                {
                    int target = sequence[t + 1];
                    if (target >= width)
                        throw new SaeSharpException($"token id {target} is outside the {width}-wide logits", modelPath, logitsName);
                    total += NegativeLogSoftmax(rows.AsSpan(checked((int)((row + t) * width)), width), target);
                    count++;
                }
                row += sequence.Length;
            }
        }
        return new LanguageModelEvaluation(total / count, count);
    }

    private static double NegativeLogSoftmax(ReadOnlySpan<float> logits, int target)
    {
        double max = double.NegativeInfinity;
        foreach (var x in logits) max = Math.Max(max, x);
        double sum = 0;
        foreach (var x in logits) sum += Math.Exp(x - max);
        return max + Math.Log(sum) - logits[target];
    }
}
