namespace SaeSharp.Harvest.Onnx;

/// <summary>A declared graph input or output: name, element type and shape as far as the graph states them.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="ElementType">ONNX element type name (<c>float</c>, <c>int64</c>, ...), or <c>unknown</c>.</param>
/// <param name="Dims">One entry per dimension: a number, a symbolic name such as <c>batch</c>, or <c>?</c>; null when the rank is unknown.</param>
public sealed record OnnxValueInfo(string Name, string ElementType, IReadOnlyList<string>? Dims);
