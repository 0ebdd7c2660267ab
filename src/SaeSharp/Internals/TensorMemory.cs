using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Internals;

/// <summary>
/// Raw access to a contiguous CPU tensor's memory, for our own kernels over hot sparse paths
/// (libtorch's CPU gather and index_add are far slower than a vectorised loop over the same bytes).
/// </summary>
internal static unsafe class TensorMemory
{
    /// <summary>The address of the tensor's first element (storage offset included).</summary>
    public static void* Address(Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU)
            throw new InvalidOperationException($"raw memory access needs a CPU tensor, got {tensor.device}");
        if (!tensor.is_contiguous())
            throw new InvalidOperationException("raw memory access needs a contiguous tensor");
        if (tensor.NumberOfElements == 0) return null;
        return Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
    }

    public static Span<T> Span<T>(Tensor tensor) where T : unmanaged =>
        new(Address(tensor), checked((int)tensor.NumberOfElements));
}
