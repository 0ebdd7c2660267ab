namespace SaeSharp.Hosts;

/// <summary>Next-token cross-entropy of a model on a set of sequences.</summary>
/// <param name="MeanLoss">Mean over every predicted position (nats): the sum of −log p(token t+1 | tokens ≤ t) over every sequence and t, divided by <see cref="Tokens"/>.</param>
/// <param name="Tokens">Predicted positions: the sum of (length − 1) over the sequences.</param>
public readonly record struct LanguageModelEvaluation(double MeanLoss, long Tokens)
{
    /// <summary>Share of predicted positions whose most likely next token is the true one; NaN where the evaluator does not measure it.</summary>
    public double Accuracy { get; init; } = double.NaN;
}
