using SaeSharp.Analysis;
using SaeSharp.Hosts;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>Where <see cref="ModAddHelix"/> reads and patches the host. Immutable; change with <c>with</c>.</summary>
public sealed record ModAddHelixOptions
{
    /// <summary>
    /// The hook point (default <c>resid_pre.0</c>, the embedded tokens). A one-layer host reads its operands only
    /// through the first block, so a patch at <c>resid_post.0</c> of an operand position changes no answer.
    /// </summary>
    public string Hook { get; init; } = HostHooks.ResidPre(0);

    /// <summary>The operand positions fitted and patched together (default 0 and 1: a and b), each with its own helix over its token.</summary>
    public IReadOnlyList<int> Positions { get; init; } = [0, 1];

    /// <summary>The split and baselines of each fit.</summary>
    public HelixFitOptions Fit { get; init; } = new();

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public ModAddHelixOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Hook)) throw new SaeSharpException("is empty", field: "hook");
        if (Positions.Count == 0 || Positions.Any(p => p is < 0 or > 1) || Positions.Distinct().Count() != Positions.Count)
            throw new SaeSharpException($"is [{string.Join(", ", Positions)}]; must be distinct operand positions, 0 (a) and/or 1 (b)", field: "positions");
        Fit.Validate();
        return this;
    }
}
