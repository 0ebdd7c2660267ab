using SaeSharp.IO;
using Google.Protobuf;
using SaeSharp.Harvest.Onnx.Proto;

namespace SaeSharp.Harvest.Onnx;

/// <summary>
/// An ONNX model read into memory for inspection and editing: nodes, tensors, graph inputs and outputs.
/// Edits (<see cref="WithOutputs"/>) return a new graph; fields this reader does not model are kept as
/// unknown protobuf fields and written back unchanged. Weights in external data files stay where they are:
/// the graph records the folder they are resolved against.
/// </summary>
public sealed class OnnxGraph
{
    private readonly ModelProto _model;
    private IReadOnlyList<OnnxNode>? _nodes;

    private OnnxGraph(ModelProto model, string sourcePath)
    {
        _model = model;
        SourcePath = sourcePath;
    }

    /// <summary>The file the graph was loaded from (full path).</summary>
    public string SourcePath { get; }

    /// <summary>The folder external data files are resolved against: the model file's own folder.</summary>
    public string ExternalDataFolder => Path.GetDirectoryName(SourcePath)!;

    internal ModelProto Model => _model;

    /// <summary>Nodes of the main graph, in the file's (topological) order.</summary>
    public IReadOnlyList<OnnxNode> Nodes => _nodes ??= _model.Graph.Node
        .Select((n, i) => new OnnxNode(i, n.Name, n.OpType, n.Domain, n.Input.ToArray(), n.Output.ToArray())).ToArray();

    /// <summary>Graph inputs that are not initializers (what a caller must feed).</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs
    {
        get
        {
            var initializers = InitializerNames;
            return _model.Graph.Input.Where(v => !initializers.Contains(v.Name)).Select(Describe).ToArray();
        }
    }

    /// <summary>Declared graph outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs => _model.Graph.Output.Select(Describe).ToArray();

    /// <summary>Names of the graph's initializers (weights and constants stored in the file or beside it).</summary>
    public IReadOnlySet<string> InitializerNames => _model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>Whether any initializer keeps its data in an external file.</summary>
    public bool HasExternalData => _model.Graph.Initializer.Any(t => t.DataLocation == TensorProto.Types.DataLocation.External);

    /// <summary>Every tensor name the main graph mentions: inputs, initializers and node outputs.</summary>
    public IReadOnlySet<string> TensorNames
    {
        get
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var v in _model.Graph.Input) names.Add(v.Name);
            foreach (var t in _model.Graph.Initializer) names.Add(t.Name);
            foreach (var n in _model.Graph.Node)
                foreach (var o in n.Output)
                    if (o.Length > 0) names.Add(o);
            return names;
        }
    }

    /// <summary>The dims of an initializer, or null when <paramref name="name"/> is not one.</summary>
    public IReadOnlyList<long>? InitializerDims(string name) =>
        _model.Graph.Initializer.FirstOrDefault(t => t.Name == name)?.Dims.ToArray();

    /// <summary>Reads an ONNX model file.</summary>
    /// <exception cref="SaeSharpException">The file is missing, unreadable, larger than protobuf allows, or not an ONNX model.</exception>
    public static OnnxGraph Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new SaeSharpException("ONNX model file not found", full);
        long length = new FileInfo(full).Length;
        if (length >= int.MaxValue)
            throw new SaeSharpException($"file is {length} bytes; an ONNX protobuf must stay under 2 GB (larger models keep their weights in external data files)", full);
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(full);
            var input = new CodedInputStream(stream);
            model = ModelProto.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new SaeSharpException($"not an ONNX file (protobuf parse failed: {e.Message})", full, inner: e);
        }
        catch (IOException e)
        {
            throw new SaeSharpException($"cannot read ONNX file: {e.Message}", full, inner: e);
        }
        // Random bytes sometimes parse as a protobuf of unknown fields; a model must have a graph with nodes.
        if (model.Graph is null || model.Graph.Node.Count == 0 || model.IrVersion <= 0 || model.OpsetImport.Count == 0)
            throw new SaeSharpException("not an ONNX model: no ir_version, opset or graph nodes", full);
        return new OnnxGraph(model, full);
    }

    /// <summary>
    /// A copy whose graph outputs are exactly <paramref name="tensorNames"/> (declared by name only; ONNX Runtime
    /// infers their types). With <paramref name="prune"/> (default) nodes and initializers that no output needs are
    /// removed too, since ONNX Runtime would otherwise still run them (the unembedding costs more than a small model's blocks).
    /// </summary>
    /// <exception cref="SaeSharpException">A name is not a tensor of the main graph.</exception>
    public OnnxGraph WithOutputs(IEnumerable<string> tensorNames, bool prune = true)
    {
        var known = TensorNames;
        var copy = _model.Clone();
        var declared = _model.Graph.Output.ToDictionary(v => v.Name, StringComparer.Ordinal);
        copy.Graph.Output.Clear();
        foreach (var name in tensorNames.Distinct(StringComparer.Ordinal))
        {
            if (!known.Contains(name))
                throw new SaeSharpException("no tensor of that name in the main graph (see `saesharp hooks` for the hook points found)", SourcePath, name);
            copy.Graph.Output.Add(declared.TryGetValue(name, out var info) ? info.Clone() : new ValueInfoProto { Name = name });
        }
        if (prune) PruneToOutputs(copy.Graph);
        return new OnnxGraph(copy, SourcePath);
    }

    private static void PruneToOutputs(GraphProto graph)
    {
        var needed = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[graph.Node.Count];
        // Nodes are topologically sorted: one backward sweep finds every node an output depends on.
        for (int i = graph.Node.Count - 1; i >= 0; i--)
        {
            var node = graph.Node[i];
            if (!node.Output.Any(needed.Contains)) continue;
            keep[i] = true;
            foreach (var input in node.Input) if (input.Length > 0) needed.Add(input);
            // Control-flow subgraphs may read outer tensors by name without listing them as node inputs.
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null) CollectNames(attribute.G, needed);
                foreach (var g in attribute.Graphs) CollectNames(g, needed);
            }
        }
        var kept = graph.Node.Where((_, i) => keep[i]).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(kept);
        var initializers = graph.Initializer.Where(t => needed.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers);
        var valueInfo = graph.ValueInfo.Where(v => needed.Contains(v.Name)).ToList();
        graph.ValueInfo.Clear();
        graph.ValueInfo.AddRange(valueInfo);
    }

    private static void CollectNames(GraphProto graph, HashSet<string> names)
    {
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input) if (input.Length > 0) names.Add(input);
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null) CollectNames(attribute.G, names);
                foreach (var g in attribute.Graphs) CollectNames(g, names);
            }
        }
    }

    /// <summary>The model serialized as ONNX protobuf bytes.</summary>
    public byte[] ToBytes() => _model.ToByteArray();

    /// <summary>Writes the model atomically to <paramref name="path"/>. External data stays referenced relative to the new file.</summary>
    public void Save(string path) => AtomicFile.Write(path, s => _model.WriteTo(s));

    /// <summary>Subgraphs of control-flow nodes (<c>If</c>, <c>Loop</c>, <c>Scan</c>): (node, subgraph node count, op types inside).</summary>
    internal IEnumerable<(OnnxNode Node, int NodeCount, IReadOnlySet<string> OpTypes)> Subgraphs()
    {
        var nodes = Nodes;
        for (int i = 0; i < _model.Graph.Node.Count; i++)
        {
            foreach (var attribute in _model.Graph.Node[i].Attribute)
            {
                var graphs = attribute.G is not null ? new[] { attribute.G } : attribute.Graphs.ToArray();
                foreach (var g in graphs)
                {
                    var ops = new HashSet<string>(StringComparer.Ordinal);
                    int count = CollectOps(g, ops);
                    yield return (nodes[i], count, ops);
                }
            }
        }
    }

    private static int CollectOps(GraphProto graph, HashSet<string> ops)
    {
        int count = 0;
        foreach (var node in graph.Node)
        {
            ops.Add(node.OpType);
            count++;
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null) count += CollectOps(attribute.G, ops);
                foreach (var g in attribute.Graphs) count += CollectOps(g, ops);
            }
        }
        return count;
    }

    private static OnnxValueInfo Describe(ValueInfoProto v)
    {
        var tensor = v.Type?.TensorType;
        string elementType = tensor is null ? "unknown" : ElementTypeName(tensor.ElemType);
        IReadOnlyList<string>? dims = tensor?.Shape?.Dim.Select(d =>
            d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : "?").ToArray();
        return new OnnxValueInfo(v.Name, elementType, dims);
    }

    internal static string ElementTypeName(int type) => (TensorProto.Types.DataType)type switch
    {
        TensorProto.Types.DataType.Float => "float",
        TensorProto.Types.DataType.Float16 => "float16",
        TensorProto.Types.DataType.Bfloat16 => "bfloat16",
        TensorProto.Types.DataType.Double => "double",
        TensorProto.Types.DataType.Int64 => "int64",
        TensorProto.Types.DataType.Int32 => "int32",
        TensorProto.Types.DataType.Bool => "bool",
        TensorProto.Types.DataType.Uint8 => "uint8",
        TensorProto.Types.DataType.Int8 => "int8",
        _ => "unknown",
    };
}
