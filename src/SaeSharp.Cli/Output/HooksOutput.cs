using System.Text.Json.Serialization;
using SaeSharp.Harvest.Onnx;

namespace SaeSharp.Cli.Output;

/// <summary><c>saesharp hooks --json</c>: the decoder graph, its inputs and the hook points found in it.</summary>
/// <remarks>
/// <para><see cref="Model"/>: The graph file.</para>
/// <para><see cref="VocabSize"/>: Width of the logits; null when the graph does not say.</para>
/// <para><see cref="Layers"/>: Transformer blocks (highest hook layer + 1).</para>
/// <para><see cref="Inputs"/>: The graph's input names.</para>
/// </remarks>
internal sealed record HooksOutput(
    string Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? VocabSize,
    int Layers, IReadOnlyList<string> Inputs, IReadOnlyList<HookOutput> Hooks);

/// <summary>One <see cref="HookPoint"/> with its shape: <c>["batch", "sequence", width]</c>.</summary>
internal sealed record HookOutput(string Name, string Tensor, int Layer, string Kind, IReadOnlyList<object> Shape)
{
    public static HookOutput From(HookPoint hook, int width) => new(hook.Name, hook.TensorName, hook.Layer, hook.Kind, ["batch", "sequence", width]);
}
