using SaeSharp.Training;
using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Hosts;

/// <summary>
/// Trains a <see cref="HostTransformer"/> as a causal language model: next-token cross-entropy on token sequences,
/// each sequence fed alone from its first token (no BOS, no packing), batches right-padded with the padded targets
/// ignored, AdamW with linear warmup, cosine decay and global gradient-norm clipping.
/// </summary>
/// <remarks>
/// The loss is computed by <see cref="Loss"/>, the one place a derived trainer changes the objective (a distillation
/// trainer adds a term against a teacher's logits for the same batch). Deterministic given the model's initial
/// weights, <see cref="LanguageModelTrainOptions.Seed"/> and the libtorch thread count (its reductions depend on it).
/// The batch order: each pass over the sequences is a seeded permutation, cut into groups of 16 batches whose
/// sequences are sorted by length before batching (less padding), the batches of a group then shuffled.
/// </remarks>
public class LanguageModelTrainer
{
    /// <summary>The target index that carries no loss (padding).</summary>
    public const long IgnoredTarget = -100;

    /// <summary>A trainer with <paramref name="options"/> (validated now).</summary>
    /// <exception cref="SaeSharpException">An option is out of range.</exception>
    public LanguageModelTrainer(LanguageModelTrainOptions options)
    {
        Options = options.Validate();
    }

    /// <summary>The run's settings.</summary>
    public LanguageModelTrainOptions Options { get; }

    /// <summary>
    /// Trains <paramref name="model"/> in place on <paramref name="sequences"/> (model token ids, each at least two
    /// tokens and at most the context length + 1).
    /// </summary>
    /// <exception cref="SaeSharpException">There are no sequences, a sequence is too short or too long or holds an id outside the vocabulary, or the loss became non-finite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the model holds the weights of the last finished step.</exception>
    public LanguageModelTrainResult Train(HostTransformer model, IReadOnlyList<long[]> sequences,
        IProgress<LanguageModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckSequences(model.Config, sequences, "sequences");
        var stopwatch = Stopwatch.StartNew();
        var order = new BatchOrder(sequences, Options.BatchSize, Options.Seed);
        var parameters = model.parameters().ToArray();
        using var optimizer = new HeldScalarAdamW(parameters, Options.LearningRate, Options.Beta1, Options.Beta2, epsilon: 1e-8, weightDecay: Options.WeightDecay);
        var log = new List<LanguageModelProgress>();
        long tokens = 0, inputTokens = 0;
        double lastLoss = double.NaN;
        model.train();
        for (int step = 0; step < Options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            double lr = Options.LearningRateAt(step);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            var batch = order.Next();
            var (inputsBT, targetsBT, predicted) = Pad(sequences, batch);
            var logitsBTV = model.forward(inputsBT);
            var loss = Loss(model, inputsBT, logitsBTV, targetsBT);
            optimizer.zero_grad();
            loss.backward();
            if (Options.GradientClipNorm > 0) nn.utils.clip_grad_norm_(parameters, Options.GradientClipNorm);
            optimizer.step();
            tokens += predicted;
            inputTokens += inputsBT.NumberOfElements;

            int done = step + 1;
            if (done % Options.LogEvery != 0 && done != Options.Steps) continue;
            lastLoss = loss.item<float>();
            if (!double.IsFinite(lastLoss))
                throw new SaeSharpException($"training loss became {lastLoss} at step {done}; lower the learning rate", field: "loss");
            var entry = new LanguageModelProgress(done, Options.Steps, tokens, lastLoss, lr);
            log.Add(entry);
            progress?.Report(entry);
        }
        model.eval();
        stopwatch.Stop();
        return new LanguageModelTrainResult(Options.Steps, tokens, inputTokens, lastLoss, stopwatch.Elapsed, log);
    }

    /// <summary>
    /// The batch's loss: mean next-token cross-entropy over the positions whose target is not <see cref="IgnoredTarget"/>.
    /// Override to add terms (e.g. a distillation loss); the result must be a scalar that <c>backward</c> can run on.
    /// </summary>
    /// <param name="model">The model being trained.</param>
    /// <param name="inputsBT">int64 inputs <c>[B, T]</c> (padding holds index 0).</param>
    /// <param name="logitsBTV">The model's logits <c>[B, T, V]</c>.</param>
    /// <param name="targetsBT">int64 next tokens <c>[B, T]</c>, <see cref="IgnoredTarget"/> at padding.</param>
    protected virtual Tensor Loss(HostTransformer model, Tensor inputsBT, Tensor logitsBTV, Tensor targetsBT) =>
        nn.functional.cross_entropy(logitsBTV.reshape(-1, logitsBTV.shape[2]), targetsBT.reshape(-1), ignore_index: IgnoredTarget);

    /// <summary>
    /// The mean next-token cross-entropy of <paramref name="model"/> over every predicted position of every sequence,
    /// each fed alone from its first token (batched with padding that carries no loss and, the attention being
    /// causal, changes no real position's logits).
    /// </summary>
    /// <exception cref="SaeSharpException">There are no sequences, or one is too short, too long or outside the vocabulary.</exception>
    public static LanguageModelEvaluation Evaluate(HostTransformer model, IReadOnlyList<long[]> sequences, int batchSize = 32, CancellationToken cancellationToken = default) =>
        Evaluate(model, sequences, hooks: null, batchSize, cancellationToken);

    /// <summary>
    /// As <see cref="Evaluate(HostTransformer, IReadOnlyList{long[]}, int, CancellationToken)"/>, with <paramref name="hooks"/>
    /// applied in every forward pass (to splice an SAE's reconstruction or zeros into the residual stream). A replacement
    /// also sees the padded positions after a sequence's end; the attention being causal, they change no real position.
    /// </summary>
    /// <exception cref="SaeSharpException">There are no sequences, or one is too short, too long or outside the vocabulary.</exception>
    public static LanguageModelEvaluation Evaluate(HostTransformer model, IReadOnlyList<long[]> sequences, HostHooks? hooks, int batchSize = 32, CancellationToken cancellationToken = default)
    {
        CheckSequences(model.Config, sequences, "sequences");
        if (batchSize < 1) throw new SaeSharpException($"is {batchSize}; must be at least 1", field: nameof(batchSize));
        var byLength = Enumerable.Range(0, sequences.Count).OrderBy(i => sequences[i].Length).ToArray();
        double total = 0;
        long count = 0, correct = 0;
        using var noGrad = no_grad();
        for (int start = 0; start < byLength.Length; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var batch = byLength.AsSpan(start, Math.Min(batchSize, byLength.Length - start)).ToArray();
            var (inputsBT, targetsBT, predicted) = Pad(sequences, batch);
            var logitsBTV = model.Forward(inputsBT, hooks);
            var lossSum = nn.functional.cross_entropy(logitsBTV.reshape(-1, logitsBTV.shape[2]), targetsBT.reshape(-1),
                ignore_index: IgnoredTarget, reduction: nn.Reduction.Sum);
            total += lossSum.to_type(ScalarType.Float64).item<double>();
            // Padded targets are −100, which no argmax equals.
            correct += logitsBTV.argmax(2).eq(targetsBT).sum().item<long>();
            count += predicted;
        }
        return new LanguageModelEvaluation(total / count, count) { Accuracy = correct / (double)count };
    }

    /// <summary>Inputs (tokens 0..n−2, padded with 0) and targets (tokens 1..n−1, padded with <see cref="IgnoredTarget"/>).</summary>
    internal static (Tensor InputsBT, Tensor TargetsBT, long Predicted) Pad(IReadOnlyList<long[]> sequences, int[] batch)
    {
        int t = batch.Max(i => sequences[i].Length) - 1;
        var inputs = new long[batch.Length * t];
        var targets = new long[batch.Length * t];
        Array.Fill(targets, IgnoredTarget);
        long predicted = 0;
        for (int b = 0; b < batch.Length; b++)
        {
            var s = sequences[batch[b]];
            Array.Copy(s, 0, inputs, b * t, s.Length - 1);
            Array.Copy(s, 1, targets, b * t, s.Length - 1);
            predicted += s.Length - 1;
        }
        return (tensor(inputs, [batch.Length, t]), tensor(targets, [batch.Length, t]), predicted);
    }

    internal static void CheckSequences(HostConfig config, IReadOnlyList<long[]> sequences, string field)
    {
        if (sequences.Count == 0) throw new SaeSharpException("is empty; training and evaluation need at least one sequence", field: field);
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i];
            if (s is null || s.Length < 2)
                throw new SaeSharpException($"sequence {i} has {s?.Length ?? 0} tokens; next-token prediction needs at least 2", field: field);
            if (s.Length - 1 > config.ContextLength)
                throw new SaeSharpException($"sequence {i} has {s.Length} tokens; the model reads at most {config.ContextLength} (context length) + the predicted last", field: field);
            foreach (var id in s)
                if (id < 0 || id >= config.VocabSize)
                    throw new SaeSharpException($"sequence {i} holds token {id}, outside the model's vocabulary [0, {config.VocabSize})", field: field);
        }
    }

    /// <summary>Seeded batches of sequence indices, pass after pass (see the class remarks).</summary>
    private sealed class BatchOrder(IReadOnlyList<long[]> sequences, int batchSize, long seed)
    {
        private const int GroupBatches = 16;
        private readonly Random _random = new(unchecked((int)(seed ^ (seed >> 32))));
        private readonly Queue<int[]> _pending = new();

        public int[] Next()
        {
            if (_pending.Count == 0) Refill();
            return _pending.Dequeue();
        }

        private void Refill()
        {
            var permutation = Enumerable.Range(0, sequences.Count).ToArray();
            _random.Shuffle(permutation);
            int size = Math.Min(batchSize, sequences.Count);
            for (int start = 0; start < permutation.Length; start += size * GroupBatches)
            {
                var group = permutation.AsSpan(start, Math.Min(size * GroupBatches, permutation.Length - start)).ToArray();
                Array.Sort(group, (a, b) => sequences[a].Length != sequences[b].Length ? sequences[a].Length.CompareTo(sequences[b].Length) : a.CompareTo(b));
                var batches = group.Chunk(size).ToArray();
                _random.Shuffle(batches);
                foreach (var batch in batches) _pending.Enqueue(batch);
            }
        }
    }
}
