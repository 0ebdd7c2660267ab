using static TorchSharp.torch;

namespace SaeSharp.Hosts;

/// <summary>
/// Functions applied to the residual stream of a <see cref="HostTransformer"/> at named points during one
/// forward pass: to read it (<see cref="Capture"/>), or to replace it (<see cref="Replace"/>, for splicing an
/// SAE's reconstruction or steering). Points: <c>resid_pre.i</c> (the input to block i), <c>resid_mid.i</c>
/// (inside block i, after attention has been added and before the MLP) and <c>resid_post.i</c> (the output of block i); <c>resid_post.i</c> and <c>resid_pre.(i+1)</c> are the same
/// tensor, and when both are hooked the <c>resid_post</c> function runs first.
/// </summary>
public sealed class HostHooks
{
    private readonly Dictionary<string, Func<Tensor, Tensor>> _functions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _captured = new(StringComparer.Ordinal);

    /// <summary>The name of the point before block <paramref name="layer"/> (after the embeddings for layer 0).</summary>
    public static string ResidPre(int layer) => $"resid_pre.{layer}";

    /// <summary>The name of the point inside block <paramref name="layer"/> between attention and MLP (the MLP's input before any LayerNorm).</summary>
    public static string ResidMid(int layer) => $"resid_mid.{layer}";

    /// <summary>The name of the point after block <paramref name="layer"/> (before the final LayerNorm for the last).</summary>
    public static string ResidPost(int layer) => $"resid_post.{layer}";

    /// <summary>The hooked point names.</summary>
    public IEnumerable<string> Points => _functions.Keys;

    /// <summary>
    /// The tensors captured in the last forward pass, by point name (<c>[B, T, D]</c> each). They belong to the
    /// caller's dispose scope (or to nobody when there is none): dispose them, or let the scope do it.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Captured => _captured;

    /// <summary>
    /// Replaces the residual stream <c>[B, T, D]</c> at <paramref name="point"/> with
    /// <paramref name="replace"/>'s result, which must have the same shape.
    /// </summary>
    public HostHooks Replace(string point, Func<Tensor, Tensor> replace)
    {
        ArgumentNullException.ThrowIfNull(replace);
        if (!_functions.TryAdd(point, replace))
            throw new SaeSharpException("point is hooked twice", field: point);
        return this;
    }

    /// <summary>Records the residual stream at <paramref name="point"/> in <see cref="Captured"/> (the tensor itself, not a copy).</summary>
    /// <remarks>The tensor is still part of the autograd graph; detach it to keep it without the graph.</remarks>
    public HostHooks Capture(string point) => Replace(point, x =>
    {
        _captured[point] = x;
        return x;
    });

    /// <summary>Keeps captured tensors alive past the forward pass's dispose scope (the caller owns them).</summary>
    public void MoveCapturedToOuterScope()
    {
        foreach (var tensor in _captured.Values) tensor.MoveToOuterDisposeScope();
    }

    internal bool TryGet(string point, out Func<Tensor, Tensor> function) => _functions.TryGetValue(point, out function!);
}
