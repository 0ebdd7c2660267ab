namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// One evaluation of a modular-addition run (a line of <c>training_log.jsonl</c>). Train metrics are measured
/// on the step's own forward pass (before its update), test metrics right after it on the held-out pairs.
/// Progress measures are filled only at snapshot steps, after training (they need the final key frequencies).
/// </summary>
/// <param name="Step">Optimiser steps taken.</param>
/// <param name="TrainLoss">Mean cross-entropy on the training pairs.</param>
/// <param name="TrainAccuracy">Share of training pairs answered correctly.</param>
/// <param name="TestLoss">Mean cross-entropy on the held-out pairs.</param>
/// <param name="TestAccuracy">Share of held-out pairs answered correctly.</param>
/// <param name="KeyFrequencyFraction">Share of the number-token embedding's squared norm in its (at most 8) key frequencies: rises as weight decay cleans up.</param>
/// <param name="RestrictedLoss">Loss on all pairs with the logits kept to the key frequencies' directions (null off snapshots).</param>
/// <param name="ExcludedLoss">Loss on the training pairs with those directions removed from the logits (null off snapshots).</param>
public sealed record ModAddLogEntry(
    int Step, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double KeyFrequencyFraction,
    double? RestrictedLoss = null, double? ExcludedLoss = null);
