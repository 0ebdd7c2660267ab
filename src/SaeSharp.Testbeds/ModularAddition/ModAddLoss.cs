namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>The loss a modular-addition host is trained with.</summary>
public enum ModAddLoss
{
    /// <summary>Softmax cross-entropy on the logits <c>x·Wᵤᵀ</c> (the grokking papers' loss, the default).</summary>
    CrossEntropy,

    /// <summary>
    /// The harmonic loss (Baek, Liu, Tyagi and Tegmark 2025): p_i ∝ d_i^(−n) with d_i = ‖Wᵤ[i] − x‖ the distance of the
    /// final representation to class i's unembedding row (<see cref="HarmonicLoss"/>).
    /// </summary>
    Harmonic,
}
