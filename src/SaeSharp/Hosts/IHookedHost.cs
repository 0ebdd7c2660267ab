using static TorchSharp.torch;

namespace SaeSharp.Hosts;

/// <summary>
/// A language model whose residual stream can be read or replaced at named points during a forward pass: what
/// spliced evaluation, steering, patching and LoRA training need from a host, whatever its weights came from.
/// </summary>
/// <remarks>
/// <see cref="HostTransformer"/> implements it (the story host, a GPT-Neo folder in Hugging Face layout, the
/// modular-addition host). Every hook point carries a residual stream of width <see cref="ModelDim"/>.
/// </remarks>
public interface IHookedHost
{
    /// <summary>Width D of the residual stream at every hook point.</summary>
    int ModelDim { get; }

    /// <summary>Longest input the model reads, in tokens.</summary>
    int ContextLength { get; }

    /// <summary>Input ids are in [0, VocabSize).</summary>
    int VocabSize { get; }

    /// <summary>The points a <see cref="HostHooks"/> may name, in forward order (<c>resid_pre.0</c>, <c>resid_mid.0</c>, ...).</summary>
    IReadOnlyList<string> HookPoints { get; }

    /// <summary>
    /// Input ids <c>[B, T]</c> int64 → next-token logits <c>[B, T, V_out]</c>, with <paramref name="hooks"/> applied to
    /// the residual stream <c>[B, T, D]</c> at their points (none when null).
    /// </summary>
    /// <exception cref="SaeSharpException">The ids have the wrong type, shape or range, or a hook names an unknown point.</exception>
    Tensor Forward(Tensor inputIdsBT, HostHooks? hooks);
}
