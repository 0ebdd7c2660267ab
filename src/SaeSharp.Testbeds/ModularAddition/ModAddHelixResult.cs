using SaeSharp.Analysis;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>The helix fit of a modular-addition host's operands and what patching it in keeps of the task.</summary>
/// <param name="Hook">The hook point read and patched.</param>
/// <param name="Positions">The operand positions, in the order of <paramref name="Fits"/>.</param>
/// <param name="KeyFrequencies">The host's key frequencies f.</param>
/// <param name="Periods">The helix periods T = p / f.</param>
/// <param name="Fits">One helix fit per operand position, over all p² inputs, the numbers being that position's token.</param>
/// <param name="TestPairs">The host's held-out pairs, on which every accuracy is measured.</param>
/// <param name="CleanAccuracy">Accuracy with nothing patched.</param>
/// <param name="PatchedAccuracy">Accuracy with every operand position's residual replaced by its helix C·B(token).</param>
/// <param name="PatchedAccuracyWithoutLinear">The same with the helices fitted without the linear term.</param>
/// <param name="MeanAblatedAccuracy">The same with each position replaced by its mean over all inputs (what a patch that carries nothing keeps).</param>
public sealed record ModAddHelixResult(
    string Hook, IReadOnlyList<int> Positions, IReadOnlyList<int> KeyFrequencies, IReadOnlyList<double> Periods,
    IReadOnlyList<HelixFitResult> Fits, int TestPairs, double CleanAccuracy, double PatchedAccuracy, double PatchedAccuracyWithoutLinear,
    double MeanAblatedAccuracy);
