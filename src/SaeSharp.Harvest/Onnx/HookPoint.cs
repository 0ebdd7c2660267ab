namespace SaeSharp.Harvest.Onnx;

/// <summary>
/// A tensor of the graph to harvest: a residual-stream point found by structure (<c>resid_pre.3</c>) or a
/// tensor the user named directly (then <see cref="Name"/> equals <see cref="TensorName"/>).
/// Residual hooks have shape <c>[batch, sequence, D]</c>.
/// </summary>
/// <param name="Name">Hook name: <c>resid_pre.i</c> (entering block i), <c>resid_mid.i</c> (after block i's attention), <c>resid_post.i</c> (leaving block i), or the tensor's own name.</param>
/// <param name="TensorName">The graph tensor that holds it.</param>
/// <param name="Layer">The block index, or -1 for a directly named tensor.</param>
/// <param name="Kind"><c>resid_pre</c>, <c>resid_mid</c>, <c>resid_post</c> or <c>tensor</c>.</param>
public sealed record HookPoint(string Name, string TensorName, int Layer, string Kind);
