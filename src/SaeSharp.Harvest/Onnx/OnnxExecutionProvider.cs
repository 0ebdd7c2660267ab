namespace SaeSharp.Harvest.Onnx;

/// <summary>Where ONNX Runtime runs the graph.</summary>
public enum OnnxExecutionProvider
{
    /// <summary>The CPU execution provider (always available).</summary>
    Cpu,

    /// <summary>The CUDA execution provider; needs the Microsoft.ML.OnnxRuntime.Gpu native package and a CUDA device.</summary>
    Cuda,
}
