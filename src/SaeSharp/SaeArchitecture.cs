using System.Text.Json.Serialization;

namespace SaeSharp;

/// <summary>
/// Which sparsity mechanism an SAE uses. A closed hierarchy checked at compile time:
/// <see cref="TopKArchitecture"/>, <see cref="BatchTopKArchitecture"/>, <see cref="JumpReluArchitecture"/>
/// and <see cref="ReluArchitecture"/>.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(TopKArchitecture), "topk")]
[JsonDerivedType(typeof(BatchTopKArchitecture), "batchtopk")]
[JsonDerivedType(typeof(JumpReluArchitecture), "jumprelu")]
[JsonDerivedType(typeof(ReluArchitecture), "relu")]
public abstract record SaeArchitecture
{
    private protected SaeArchitecture() { }

    /// <summary>Whether decoder rows are held at unit norm during training.</summary>
    public abstract bool UnitNormDecoder { get; }

    /// <summary>Whether the architecture selects latents by rank (TopK family), which enables AuxK.</summary>
    public abstract bool IsTopKFamily { get; }

    /// <summary>Checks the architecture's own fields against the dictionary size.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public abstract void Validate(int latentCount);
}
