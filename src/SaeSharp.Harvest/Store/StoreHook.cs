using System.Text.Json.Serialization;

namespace SaeSharp.Harvest.Store;

/// <summary>One hook of an activation store: a tensor of the model, one row of <paramref name="D"/> numbers per token.</summary>
/// <param name="Name">Hook name (<c>resid_post.3</c>) or the tensor name.</param>
/// <param name="TensorName">The graph tensor the rows were read from (<c>tensor</c> in the manifest).</param>
/// <param name="D">Row width.</param>
public sealed record StoreHook(string Name, [property: JsonPropertyName("tensor")] string TensorName, int D)
{
    /// <summary>Other hook names of the same tensor (<c>resid_pre.3</c> for <c>resid_post.2</c>); null when none.</summary>
    public IReadOnlyList<string>? Aliases { get; init; }

    /// <summary>Whether <paramref name="name"/> is this hook's name or one of its aliases.</summary>
    public bool Answers(string name) => Name == name || (Aliases?.Contains(name) ?? false);
}
