namespace SaeSharp.Harvest.Onnx;

/// <summary>One node of an ONNX graph: its operator and the tensors it reads and writes.</summary>
/// <param name="Index">Position in the graph's node list (ONNX keeps nodes in topological order).</param>
/// <param name="Name">The node's name (may be empty; exporters differ).</param>
/// <param name="OpType">The operator, e.g. <c>MatMul</c>, <c>LayerNormalization</c>.</param>
/// <param name="Domain">The operator set domain; empty for the default ONNX domain.</param>
/// <param name="Inputs">Input tensor names; an empty name marks an omitted optional input.</param>
/// <param name="Outputs">Output tensor names.</param>
public sealed record OnnxNode(int Index, string Name, string OpType, string Domain, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);
