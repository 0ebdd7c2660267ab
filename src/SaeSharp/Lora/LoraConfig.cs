namespace SaeSharp.Lora;

/// <summary>Shape of LoRA adapters: rank, scale, dropout, and which projections of which blocks they sit beside.</summary>
public sealed record LoraConfig
{
    /// <summary>The projections PEFT names in a GPT-Neo block: attention q, k, v, out and the MLP's c_fc, c_proj.</summary>
    public static IReadOnlyList<string> AllModules { get; } = [LoraAdapters.Q, LoraAdapters.K, LoraAdapters.V, LoraAdapters.Out, LoraAdapters.Fc, LoraAdapters.Proj];

    /// <summary>Rank r of each update, at least 1 and at most the narrower side of every targeted projection. Default 8.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>α: the update is scaled by α / r. Default 32 (the LoRA-around-SAE paper's value).</summary>
    public double Alpha { get; init; } = 32;

    /// <summary>Dropout on the adapter's input during training, in [0, 1). Default 0.</summary>
    public double Dropout { get; init; }

    /// <summary>Targeted projections, PEFT's module names (<see cref="AllModules"/>). Default: all six.</summary>
    public IReadOnlyList<string> Modules { get; init; } = AllModules;

    /// <summary>Blocks that get adapters; null: every block after the SAE's hook (what the trainer resolves).</summary>
    public IReadOnlyList<int>? Layers { get; init; }

    /// <summary>Checks every field; returns this.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it.</exception>
    public LoraConfig Validate()
    {
        if (Rank < 1) throw new SaeSharpException($"is {Rank}; the adapter rank must be at least 1", field: "rank");
        if (!(Alpha > 0) || !double.IsFinite(Alpha)) throw new SaeSharpException($"is {Alpha}; must be a positive finite number", field: "alpha");
        if (!(Dropout >= 0 && Dropout < 1)) throw new SaeSharpException($"is {Dropout}; must be in [0, 1)", field: "dropout");
        if (Modules is null || Modules.Count == 0) throw new SaeSharpException($"is empty; name at least one of {string.Join(", ", AllModules)}", field: "modules");
        foreach (var module in Modules)
            if (!AllModules.Contains(module))
                throw new SaeSharpException($"holds '{module}'; the targetable modules are {string.Join(", ", AllModules)}", field: "modules");
        if (Modules.Distinct().Count() != Modules.Count) throw new SaeSharpException("names a module twice", field: "modules");
        if (Layers is not null)
        {
            if (Layers.Count == 0) throw new SaeSharpException("is empty; give at least one block, or none for the default", field: "layers");
            if (Layers.Any(l => l < 0)) throw new SaeSharpException("holds a negative block index", field: "layers");
            if (Layers.Distinct().Count() != Layers.Count) throw new SaeSharpException("names a block twice", field: "layers");
        }
        return this;
    }
}
