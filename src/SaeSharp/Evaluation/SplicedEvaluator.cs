using SaeSharp.Hosts;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Evaluation;

/// <summary>
/// Splices an SAE into any <see cref="IHookedHost"/> and measures what it costs the host's next-token predictions
/// (<see cref="SplicedEvaluation"/>): clean, spliced, zero- and mean-ablated cross-entropy, and KL to the clean model.
/// </summary>
/// <remarks>
/// Sequences are fed alone from their first token, sorted by length and right-padded into batches (causal attention
/// keeps the padding out of real positions); the prediction at position t is scored against token t+1. The SAE reads
/// the raw residual, as a loaded checkpoint does, at every position from <see cref="SplicedEvaluationOptions.UntouchedPositions"/> on.
/// </remarks>
public static class SplicedEvaluator
{
    /// <summary>
    /// Measures <paramref name="sae"/> spliced into <paramref name="splicedHost"/> (default <paramref name="host"/>, e.g.
    /// the host with LoRA adapters) at <see cref="SplicedEvaluationOptions.Hook"/>, against <paramref name="host"/> left clean.
    /// </summary>
    /// <param name="host">The clean reference; <see cref="SplicedEvaluation.CeClean"/> and the KL's p_clean come from it.</param>
    /// <param name="sae">The SAE; its input width must be the host's residual width.</param>
    /// <param name="sequences">Token ids as the host reads them, each at least two long and at most the context length + 1.</param>
    /// <param name="options">Hook, untouched positions, scoring.</param>
    /// <param name="splicedHost">The model the SAE and the ablations are spliced into; null: <paramref name="host"/>.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <exception cref="SaeSharpException">The hook is unknown, the SAE's width is not the hook's, or a sequence is invalid.</exception>
    public static SplicedEvaluation Evaluate(IHookedHost host, Sae sae, IReadOnlyList<long[]> sequences, SplicedEvaluationOptions options,
        IHookedHost? splicedHost = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(sae);
        options.Validate();
        splicedHost ??= host;
        CheckSplice(host, sae, options.Hook);
        CheckSequences(host, sequences);
        if (splicedHost.ModelDim != host.ModelDim || !splicedHost.HookPoints.Contains(options.Hook))
            throw new SaeSharpException("has another width or lacks the hook; it must be the same host with changed weights", field: nameof(splicedHost));
        sae.eval();
        using var noGrad = no_grad();
        var byLength = Enumerable.Range(0, sequences.Count).OrderBy(i => sequences[i].Length).ToArray();
        int untouched = options.UntouchedPositions;
        using var meanD = options.Ablations ? ResidualMean(splicedHost, sequences, byLength, options, cancellationToken) : null;

        var replacements = new List<Func<Tensor, Tensor>> { x => Replace(x, untouched, rows => Reconstruct(sae, rows)) };
        if (meanD is not null)
        {
            replacements.Add(x => Replace(x, untouched, rows => zeros_like(rows)));
            replacements.Add(x => Replace(x, untouched, rows => meanD.expand(rows.shape)));
        }
        double cleanLoss = 0;
        long count = 0, cleanCorrect = 0;
        var losses = new double[replacements.Count];
        var correct = new long[replacements.Count];
        double kl = 0;
        for (int start = 0; start < byLength.Length; start += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var batch = byLength.AsSpan(start, Math.Min(options.BatchSize, byLength.Length - start)).ToArray();
            var (inputsBT, targetsBT, predicted) = LanguageModelTrainer.Pad(sequences, batch);
            if (options.LastPositionOnly)
            {
                targetsBT = LastOnly(targetsBT, sequences, batch);
                predicted = batch.Length;
            }
            var flatTargetsN = targetsBT.reshape(-1);
            var cleanLogitsBTV = host.Forward(inputsBT, hooks: null);
            var cleanLogpNV = cleanLogitsBTV.reshape(-1, cleanLogitsBTV.shape[2]).log_softmax(1);
            var scoredN = flatTargetsN.ne(LanguageModelTrainer.IgnoredTarget);
            cleanLoss += CrossEntropySum(cleanLogitsBTV, flatTargetsN);
            cleanCorrect += cleanLogitsBTV.argmax(2).eq(targetsBT).sum().item<long>();
            for (int r = 0; r < replacements.Count; r++)
            {
                var logitsBTV = splicedHost.Forward(inputsBT, new HostHooks().Replace(options.Hook, replacements[r]));
                losses[r] += CrossEntropySum(logitsBTV, flatTargetsN);
                correct[r] += logitsBTV.argmax(2).eq(targetsBT).sum().item<long>();
                if (r == 0)
                {
                    var logpNV = logitsBTV.reshape(-1, logitsBTV.shape[2]).log_softmax(1);
                    kl += KlRows(cleanLogpNV, logpNV).masked_select(scoredN).to_type(ScalarType.Float64).sum().item<double>();
                }
            }
            count += predicted;
        }
        double Ce(int r) => r < losses.Length ? losses[r] / count : double.NaN;
        double Acc(int r) => r < correct.Length ? correct[r] / (double)count : double.NaN;
        return new SplicedEvaluation(cleanLoss / count, Ce(0), Ce(1), Ce(2), kl / count, cleanCorrect / (double)count, Acc(0), Acc(1), Acc(2), count);
    }

    /// <summary>Checks that <paramref name="sae"/> can read the residual at <paramref name="hook"/> of <paramref name="host"/>.</summary>
    /// <exception cref="SaeSharpException">The hook is not one of the host's, or the SAE's input width is not the residual's.</exception>
    public static void CheckSplice(IHookedHost host, Sae sae, string hook)
    {
        if (!host.HookPoints.Contains(hook))
            throw new SaeSharpException($"is not a hook point of the host (it has {host.HookPoints[0]} .. {host.HookPoints[^1]})", field: "hook");
        if (sae.InputDim != host.ModelDim)
            throw new SaeSharpException($"the SAE reads vectors of width {sae.InputDim} but the residual stream at {hook} has width {host.ModelDim}", field: "sae");
    }

    /// <summary>
    /// <paramref name="xBTD"/> with positions ≥ <paramref name="untouched"/> replaced by <paramref name="replaceRows"/>
    /// applied to them as rows <c>[N, D]</c>; differentiable.
    /// </summary>
    internal static Tensor Replace(Tensor xBTD, int untouched, Func<Tensor, Tensor> replaceRows)
    {
        long b = xBTD.shape[0], t = xBTD.shape[1], d = xBTD.shape[2];
        if (untouched >= t) return xBTD;
        if (untouched == 0) return replaceRows(xBTD.reshape(-1, d)).reshape(b, t, d);
        var tail = xBTD.narrow(1, untouched, t - untouched);
        var replaced = replaceRows(tail.reshape(-1, d)).reshape(b, t - untouched, d);
        return cat([xBTD.narrow(1, 0, untouched), replaced], 1);
    }

    /// <summary>The SAE's inference reconstruction of rows <c>[N, D]</c>, differentiable with respect to the rows.</summary>
    internal static Tensor Reconstruct(Sae sae, Tensor rowsND)
    {
        using var latentsNL = sae.Encode(rowsND);
        return sae.Decode(latentsNL);
    }

    /// <summary>KL(p ‖ q) per row from log-probabilities <c>[N, V]</c> → <c>[N]</c>.</summary>
    internal static Tensor KlRows(Tensor logpNV, Tensor logqNV) => logpNV.exp().mul(logpNV.sub(logqNV)).sum(1);

    private static double CrossEntropySum(Tensor logitsBTV, Tensor targetsN) =>
        nn.functional.cross_entropy(logitsBTV.reshape(-1, logitsBTV.shape[2]), targetsN,
            ignore_index: LanguageModelTrainer.IgnoredTarget, reduction: nn.Reduction.Sum).to_type(ScalarType.Float64).item<double>();

    /// <summary>Targets with every position but each sequence's last prediction ignored.</summary>
    private static Tensor LastOnly(Tensor targetsBT, IReadOnlyList<long[]> sequences, int[] batch)
    {
        long t = targetsBT.shape[1];
        var all = targetsBT.data<long>().ToArray();
        var kept = new long[all.Length];
        Array.Fill(kept, LanguageModelTrainer.IgnoredTarget);
        for (int b = 0; b < batch.Length; b++)
        {
            long at = b * t + sequences[batch[b]].Length - 2;
            kept[at] = all[at];
        }
        return tensor(kept, targetsBT.shape);
    }

    /// <summary>Mean of the residual at the hook <c>[D]</c> over every real position the splice replaces.</summary>
    private static Tensor ResidualMean(IHookedHost host, IReadOnlyList<long[]> sequences, int[] byLength, SplicedEvaluationOptions options, CancellationToken cancellationToken)
    {
        using var sumD = zeros(host.ModelDim, dtype: ScalarType.Float64);
        long rows = 0;
        for (int start = 0; start < byLength.Length; start += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var batch = byLength.AsSpan(start, Math.Min(options.BatchSize, byLength.Length - start)).ToArray();
            var (inputsBT, targetsBT, _) = LanguageModelTrainer.Pad(sequences, batch);
            var hooks = new HostHooks().Capture(options.Hook);
            host.Forward(inputsBT, hooks);
            var residualBTD = hooks.Captured[options.Hook];
            var realBT = targetsBT.ne(LanguageModelTrainer.IgnoredTarget);
            if (options.UntouchedPositions > 0)
            {
                using var first = options.UntouchedPositions.ToScalar();
                realBT = realBT.logical_and(arange(targetsBT.shape[1]).ge(first).unsqueeze(0));
            }
            var picked = residualBTD.index(realBT).to_type(ScalarType.Float64);
            sumD.add_(picked.sum(0), HeldScalars.One);
            rows += picked.shape[0];
        }
        if (rows == 0) throw new SaeSharpException("leave no position to replace; the mean ablation has nothing to average", field: "untouched_positions");
        using var n = rows.ToScalar();
        return sumD.div(n).to_type(ScalarType.Float32);
    }

    private static void CheckSequences(IHookedHost host, IReadOnlyList<long[]> sequences)
    {
        if (sequences.Count == 0) throw new SaeSharpException("is empty; the evaluation needs at least one sequence", field: "sequences");
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i];
            if (s is null || s.Length < 2)
                throw new SaeSharpException($"sequence {i} has {s?.Length ?? 0} tokens; next-token prediction needs at least 2", field: "sequences");
            if (s.Length - 1 > host.ContextLength)
                throw new SaeSharpException($"sequence {i} has {s.Length} tokens; the host reads at most {host.ContextLength} (context length) + the predicted last", field: "sequences");
            foreach (var id in s)
                if (id < 0 || id >= host.VocabSize)
                    throw new SaeSharpException($"sequence {i} holds token {id}, outside the host's vocabulary [0, {host.VocabSize})", field: "sequences");
        }
    }
}
