using System.Buffers.Binary;
using Google.Protobuf;
using SaeSharp.Harvest.Onnx.Proto;
using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Harvest.Onnx;

/// <summary>
/// Rebuilds a <see cref="HostTransformer"/> from the initializers of an ONNX file written by
/// <see cref="OnnxExporter"/> (Hugging Face names; matrices stored transposed under the name plus
/// <see cref="OnnxExporter.TransposedSuffix"/>).
/// </summary>
public static class HostOnnxWeights
{
    /// <summary>
    /// Loads the model in <paramref name="path"/>; the configuration comes from the file's
    /// <see cref="OnnxExporter.ConfigMetadataKey"/> metadata unless <paramref name="config"/> is given.
    /// </summary>
    /// <exception cref="SaeSharpException">The file is unreadable, not ONNX, or lacks a weight of the configuration or has it misshaped.</exception>
    public static HostTransformer Load(string path, HostConfig? config = null)
    {
        ModelProto proto;
        try
        {
            using var stream = File.OpenRead(path);
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SaeSharpException($"cannot read ONNX file: {e.Message}", path, inner: e);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new SaeSharpException($"is not an ONNX model: {e.Message}", path, inner: e);
        }
        if (config is null)
        {
            var entry = proto.MetadataProps.FirstOrDefault(m => m.Key == OnnxExporter.ConfigMetadataKey)
                ?? throw new SaeSharpException($"has no {OnnxExporter.ConfigMetadataKey} metadata; pass the host configuration explicitly", path);
            config = HostConfig.FromJson(entry.Value, path);
        }

        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var initializer in proto.Graph?.Initializer ?? [])
            initializers.TryAdd(initializer.Name, initializer);

        var model = new HostTransformer(config);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, _) in model.NamedWeights())
            {
                bool transposed = IsMatrixForMatMul(name);
                var stored = transposed ? name + OnnxExporter.TransposedSuffix : name;
                if (!initializers.TryGetValue(stored, out var initializer))
                    throw new SaeSharpException("initializer is missing", path, stored);
                using var value = ToTensor(initializer, path);
                tensors[name] = transposed ? value.t().contiguous() : value.clone();
            }
            model.LoadWeights(tensors, path);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static bool IsMatrixForMatMul(string name) =>
        name == HostNames.LmHead
        || (name.EndsWith(".weight", StringComparison.Ordinal) && (name.Contains("_proj.", StringComparison.Ordinal) || name.Contains(".mlp.", StringComparison.Ordinal)));

    /// <summary>A float32 initializer (raw_data or float_data) as a CPU tensor, its size checked against its dims.</summary>
    internal static Tensor ToTensor(TensorProto initializer, string path)
    {
        if (initializer.DataLocation == TensorProto.Types.DataLocation.External)
            throw new SaeSharpException("initializer stores its data in an external file, which is not supported here", path, initializer.Name);
        if (initializer.DataType != (int)TensorProto.Types.DataType.Float)
            throw new SaeSharpException($"initializer has data type {initializer.DataType}; expected FLOAT (1)", path, initializer.Name);
        long count = 1;
        foreach (var dim in initializer.Dims)
        {
            if (dim < 0) throw new SaeSharpException($"initializer has negative dimension {dim}", path, initializer.Name);
            try { count = checked(count * dim); }
            catch (OverflowException) { throw new SaeSharpException("initializer's element count overflows", path, initializer.Name); }
        }
        var values = new float[count];
        if (initializer.HasRawData)
        {
            if (initializer.RawData.Length != count * 4)
                throw new SaeSharpException($"initializer holds {initializer.RawData.Length} raw bytes but its dims need {count * 4}", path, initializer.Name);
            var raw = initializer.RawData.Span;
            for (int i = 0; i < values.Length; i++)
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
        }
        else
        {
            if (initializer.FloatData.Count != count)
                throw new SaeSharpException($"initializer holds {initializer.FloatData.Count} floats but its dims need {count}", path, initializer.Name);
            initializer.FloatData.CopyTo(values, 0);
        }
        return tensor(values, initializer.Dims.ToArray());
    }
}
