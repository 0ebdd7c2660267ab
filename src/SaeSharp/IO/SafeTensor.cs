using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.IO;

/// <summary>One tensor read from a safetensors file: its name, element type, shape and raw little-endian bytes.</summary>
public sealed class SafeTensor
{
    internal SafeTensor(string name, SafeTensorDType dtype, long[] shape, byte[] data)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    /// <summary>The tensor's name in the file header.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public SafeTensorDType DType { get; }

    /// <summary>The shape; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The raw little-endian bytes, exactly <c>product(Shape) * ElementSize</c> of them.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Copies the data into a new CPU tensor of the matching TorchSharp type.</summary>
    public Tensor ToTensor()
    {
        var scalarType = SafeTensorsFormat.ToScalarType(DType);
        var result = empty(Shape.ToArray(), scalarType);
        if (Data.Length > 0)
        {
            unsafe
            {
                var destination = new Span<byte>(SaeSharp.Internals.TensorMemory.Address(result), Data.Length);
                Data.Span.CopyTo(destination);
            }
        }
        return result;
    }
}
