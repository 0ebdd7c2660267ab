using System.Runtime.InteropServices;
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

    /// <summary>How many elements are NaN or infinite (0 for integer and boolean types); reads the bytes, allocates nothing.</summary>
    public long NonFiniteCount()
    {
        var span = Data.Span;
        long count = 0;
        switch (DType)
        {
            case SafeTensorDType.F32:
                foreach (var value in MemoryMarshal.Cast<byte, float>(span))
                    if (!float.IsFinite(value)) count++;
                break;
            case SafeTensorDType.F64:
                foreach (var value in MemoryMarshal.Cast<byte, double>(span))
                    if (!double.IsFinite(value)) count++;
                break;
            case SafeTensorDType.F16:
                foreach (var value in MemoryMarshal.Cast<byte, Half>(span))
                    if (!Half.IsFinite(value)) count++;
                break;
            case SafeTensorDType.BF16:
                // bfloat16 is the top half of a float32: all exponent bits set means Inf or NaN.
                foreach (var bits in MemoryMarshal.Cast<byte, ushort>(span))
                    if ((bits & 0x7F80) == 0x7F80) count++;
                break;
        }
        return count;
    }

    /// <summary>Throws when any element is NaN or infinite, naming <paramref name="path"/> and the tensor.</summary>
    /// <exception cref="SaeSharpException">The tensor holds non-finite values.</exception>
    public void ThrowIfNonFinite(string path)
    {
        var count = NonFiniteCount();
        if (count > 0)
            throw new SaeSharpException($"holds {count} NaN or infinite value{(count == 1 ? "" : "s")}; the weights are unusable (a diverged run?)", path, Name);
    }

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
