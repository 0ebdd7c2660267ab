using Google.Protobuf;
using SaeSharp.Harvest.Onnx.Proto;
using static TorchSharp.torch;

namespace SaeSharp.Harvest.Onnx;

/// <summary>Appends nodes and initializers to an ONNX graph under our naming scheme (the exporter's plumbing).</summary>
internal sealed class ExportGraphBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>Adds a node whose single output is <paramref name="output"/>; the node is named after it.</summary>
    public string Node(string opType, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        Claim(output);
        var node = new NodeProto { OpType = opType, Name = output + "/" + opType };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a node with several outputs (TopK's values and indices); the node is named after the first.</summary>
    public void Node(string opType, IEnumerable<string> inputs, IReadOnlyList<string> outputs, params AttributeProto[] attributes)
    {
        foreach (var output in outputs) Claim(output);
        var node = new NodeProto { OpType = opType, Name = outputs[0] + "/" + opType };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
    }

    /// <summary>A float32 initializer holding a copy of <paramref name="value"/> (raw little-endian data).</summary>
    public string Float(string name, Tensor value)
    {
        Claim(name);
        using var cpu = value.detach().cpu().to_type(ScalarType.Float32).contiguous();
        var bytes = cpu.NumberOfElements == 0 ? [] : cpu.bytes.ToArray();
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
        proto.Dims.AddRange(cpu.shape);
        Graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>A float32 initializer of the given shape from row-major values.</summary>
    public string FloatMatrix(string name, float[] values, params long[] dims)
    {
        Claim(name);
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
        proto.Dims.AddRange(dims);
        Graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>An int64 initializer of the given shape from row-major values.</summary>
    public string Int64Matrix(string name, long[] values, params long[] dims)
    {
        Claim(name);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Int64Data.AddRange(values);
        proto.Dims.AddRange(dims);
        Graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>A float32 scalar initializer.</summary>
    public string FloatScalar(string name, float value)
    {
        Claim(name);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) };
        Graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>An int64 initializer: a scalar when <paramref name="scalar"/>, otherwise a 1-D tensor.</summary>
    public string Int64(string name, long[] values, bool scalar = false)
    {
        Claim(name);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Int64Data.AddRange(values);
        if (!scalar) proto.Dims.Add(values.Length);
        Graph.Initializer.Add(proto);
        return name;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto FloatAttribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A tensor type with named (dynamic) or fixed dimensions.</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType elementType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(dim is string param ? new TensorShapeProto.Types.Dimension { DimParam = param } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(dim) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType, Shape = shape } },
        };
    }

    private void Claim(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"exporter bug: tensor name {name} is used twice");
    }
}
