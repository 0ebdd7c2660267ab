namespace SaeSharp.Harvest.Store;

/// <summary>One hook of an activation store.</summary>
/// <param name="Name">Hook name (<c>resid_post.3</c> or a tensor name).</param>
/// <param name="TensorName">The graph tensor it was read from.</param>
/// <param name="D">Row width.</param>
/// <param name="Aliases">Other hook names of the same tensor, e.g. <c>resid_pre.3</c> for <c>resid_post.2</c>.</param>
public sealed record StoreHookInfo(string Name, string TensorName, int D, IReadOnlyList<string> Aliases);
