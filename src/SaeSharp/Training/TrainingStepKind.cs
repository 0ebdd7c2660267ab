namespace SaeSharp.Training;

/// <summary>Which implementation of the training step a run uses.</summary>
public enum TrainingStepKind
{
    /// <summary>The fused sparse step for the TopK family where available, autograd otherwise.</summary>
    Auto,

    /// <summary>libtorch autograd on the plain forward: the reference, every architecture.</summary>
    Autograd,

    /// <summary>The hand-derived sparse step (TopK and BatchTopK only).</summary>
    Fused,
}
