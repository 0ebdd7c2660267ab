using SaeSharp.Testbeds.ModularAddition;

namespace SaeSharp.Cli.Internals;

/// <summary>The tool's names of the modular-addition host's losses (<c>cross-entropy</c>, <c>harmonic</c>).</summary>
internal static class ModAddLossNames
{
    private static readonly (string Name, ModAddLoss Loss)[] Names = [("cross-entropy", ModAddLoss.CrossEntropy), ("harmonic", ModAddLoss.Harmonic)];

    /// <summary>The name of <paramref name="loss"/>.</summary>
    public static string Name(ModAddLoss loss) => Names.First(n => n.Loss == loss).Name;

    /// <summary>The loss named <paramref name="text"/>.</summary>
    /// <exception cref="SaeSharpException">No loss has that name; the message lists the names.</exception>
    public static ModAddLoss Parse(string text, string flag)
    {
        foreach (var (name, loss) in Names)
            if (string.Equals(name, text.Trim(), StringComparison.OrdinalIgnoreCase)) return loss;
        throw new SaeSharpException($"\"{text}\" is not a loss; use {string.Join(" or ", Names.Select(n => n.Name))}", field: flag);
    }
}
