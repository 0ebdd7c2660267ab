using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SaeSharp.Harvest.Onnx;

/// <summary>
/// Runs a decoder graph in ONNX Runtime and returns the chosen hook tensors as float32 rows. Sequences of
/// different lengths are right-padded inside a batch and masked with <c>attention_mask</c>; padding rows are
/// never returned. Inputs other than the token ids are filled the way the graph expects: <c>attention_mask</c>,
/// <c>position_ids</c>, <c>token_type_ids</c>, empty <c>past_key_values.*</c> and <c>use_cache_branch = false</c>.
/// </summary>
public sealed class OnnxHost : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly OnnxHostOptions _options;
    private readonly string _idsInput;
    private readonly string[] _outputNames;
    private bool _disposed;

    private OnnxHost(InferenceSession session, SessionOptions sessionOptions, OnnxHostOptions options, string modelPath,
        IReadOnlyList<HookPoint> hooks, string idsInput, int? vocabSize)
    {
        _session = session;
        _sessionOptions = sessionOptions;
        _options = options;
        ModelPath = modelPath;
        Hooks = hooks;
        _idsInput = idsInput;
        _outputNames = hooks.Select(h => h.TensorName).ToArray();
        VocabSize = vocabSize;
        HookWidths = Array.Empty<int>();
    }

    /// <summary>The model file.</summary>
    public string ModelPath { get; }

    /// <summary>The hooks this host returns, in order.</summary>
    public IReadOnlyList<HookPoint> Hooks { get; }

    /// <summary>Width D of each hook's rows, in <see cref="Hooks"/> order.</summary>
    public IReadOnlyList<int> HookWidths { get; private set; }

    /// <summary>Rows of the token embedding (ids must be below it), or null when the graph does not show it.</summary>
    public int? VocabSize { get; }

    /// <summary>
    /// Loads <paramref name="modelPath"/> with <paramref name="hooks"/> as its only outputs and probes their widths
    /// with a one-token input.
    /// </summary>
    /// <exception cref="SaeSharpException">The model is not loadable, has inputs the host cannot fill, a hook is not a [batch, sequence, D] tensor, or the execution provider is unavailable.</exception>
    public static OnnxHost Open(string modelPath, IReadOnlyList<HookPoint> hooks, OnnxHostOptions? options = null)
    {
        options ??= new OnnxHostOptions();
        options.Validate();
        if (hooks.Count == 0)
            throw new SaeSharpException("no hooks to harvest", modelPath, "hooks");
        var graph = OnnxGraph.Load(modelPath);
        var edited = graph.WithOutputs(hooks.Select(h => h.TensorName));
        string idsInput = FindIdsInput(graph, options);
        int? vocab = FindVocabSize(graph, idsInput);

        var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        InferenceSession session;
        try
        {
            sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
            // Errors only: ONNX Runtime warns on stderr about things that are by design, e.g. an optional input given a
            // default as an overridable initializer (our exports' attention_mask); our own errors say what is wrong.
            sessionOptions.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
            sessionOptions.InterOpNumThreads = 1;
            sessionOptions.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
            // The edited graph is loaded from memory; its external data files stay beside the original model.
            sessionOptions.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", graph.ExternalDataFolder);
            if (options.ExecutionProvider == OnnxExecutionProvider.Cuda)
            {
                try { sessionOptions.AppendExecutionProvider_CUDA(options.DeviceId); }
                catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
                {
                    throw new SaeSharpException(
                        $"the CUDA execution provider is not available ({e.Message}); reference the Microsoft.ML.OnnxRuntime.Gpu package (build with -p:SaeSharpTorchBackend=cuda) on a CUDA machine, or use the CPU provider",
                        modelPath, "ExecutionProvider", e);
                }
            }
            session = new InferenceSession(edited.ToBytes(), sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            sessionOptions.Dispose();
            throw new SaeSharpException($"ONNX Runtime cannot load the model: {e.Message}", modelPath, inner: e);
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }

        var host = new OnnxHost(session, sessionOptions, options, graph.SourcePath, hooks, idsInput, vocab);
        try
        {
            host.CheckInputs();
            host.HookWidths = host.Probe();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs one batch. Returns, per hook, the rows of every real token as one float32 array
    /// <c>[sum of lengths, D]</c>: sequence by sequence, position by position.
    /// </summary>
    /// <param name="sequences">Token ids, one array per sequence (lengths may differ, each at least 1).</param>
    /// <param name="cancellation">Stops a long run.</param>
    /// <exception cref="SaeSharpException">A sequence is empty or an id lies outside the vocabulary.</exception>
    public float[][] Run(IReadOnlyList<int[]> sequences, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (sequences.Count == 0)
            throw new SaeSharpException("a batch needs at least one sequence", ModelPath);
        int batch = sequences.Count, time = 0;
        long tokens = 0;
        for (int b = 0; b < batch; b++)
        {
            var s = sequences[b];
            if (s.Length == 0) throw new SaeSharpException($"sequence {b} of the batch is empty", ModelPath);
            for (int t = 0; t < s.Length; t++)
                if (s[t] < 0 || (VocabSize is int v && s[t] >= v))
                    throw new SaeSharpException($"token id {s[t]} (sequence {b}, position {t}) is outside the model's vocabulary of {VocabSize?.ToString() ?? "non-negative"} ids", ModelPath, "input_ids");
            time = Math.Max(time, s.Length);
            tokens += s.Length;
        }

        var inputs = new List<(string Name, OrtValue Value)>();
        try
        {
            foreach (var (name, meta) in _session.InputMetadata)
                inputs.Add((name, CreateInput(name, meta, sequences, batch, time)));
            using var runOptions = new RunOptions();
            using var registration = cancellation.Register(() => runOptions.Terminate = true);
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = _session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), inputs.Select(i => i.Value).ToArray(), _outputNames);
            }
            catch (OnnxRuntimeException e)
            {
                cancellation.ThrowIfCancellationRequested();
                throw new SaeSharpException($"ONNX Runtime failed to run the batch: {e.Message}", ModelPath, inner: e);
            }
            using (outputs)
            {
                var result = new float[_outputNames.Length][];
                for (int h = 0; h < _outputNames.Length; h++)
                    result[h] = Gather(outputs[h], h, sequences, batch, time, tokens);
                return result;
            }
        }
        finally
        {
            foreach (var (_, value) in inputs) value.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _sessionOptions.Dispose();
    }

    private float[] Gather(OrtValue value, int hook, IReadOnlyList<int[]> sequences, int batch, int time, long tokens)
    {
        var info = value.GetTensorTypeAndShape();
        long[] shape = info.Shape;
        int d;
        if (shape.Length == 3 && shape[0] == batch && shape[1] == time) d = checked((int)shape[2]);
        else if (shape.Length == 2 && shape[0] == (long)batch * time) d = checked((int)shape[1]); // exporters that flatten [B*T, D]
        else
            throw new SaeSharpException($"hook tensor has shape [{string.Join(", ", shape)}]; a hook must be [batch={batch}, sequence={time}, D]",
                ModelPath, Hooks[hook].Name);
        if (HookWidths.Count > hook && HookWidths[hook] != d)
            throw new SaeSharpException($"hook width changed from {HookWidths[hook]} to {d} between batches", ModelPath, Hooks[hook].Name);

        var rowsND = new float[checked(tokens * d)];
        long at = 0;
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
            {
                var src = value.GetTensorDataAsSpan<float>();
                for (int b = 0; b < batch; b++)
                {
                    int n = sequences[b].Length * d;
                    src.Slice(b * time * d, n).CopyTo(rowsND.AsSpan((int)at, n));
                    at += n;
                }
                break;
            }
            case TensorElementType.Float16:
            {
                var src = value.GetTensorDataAsSpan<Float16>();
                for (int b = 0; b < batch; b++)
                    for (int i = 0, n = sequences[b].Length * d, o = b * time * d; i < n; i++)
                        rowsND[at++] = (float)src[o + i];
                break;
            }
            case TensorElementType.BFloat16:
            {
                var src = value.GetTensorDataAsSpan<BFloat16>();
                for (int b = 0; b < batch; b++)
                    for (int i = 0, n = sequences[b].Length * d, o = b * time * d; i < n; i++)
                        rowsND[at++] = (float)src[o + i];
                break;
            }
            case TensorElementType.Double:
            {
                var src = value.GetTensorDataAsSpan<double>();
                for (int b = 0; b < batch; b++)
                    for (int i = 0, n = sequences[b].Length * d, o = b * time * d; i < n; i++)
                        rowsND[at++] = (float)src[o + i];
                break;
            }
            default:
                throw new SaeSharpException($"hook tensor has element type {info.ElementDataType}; only floating-point tensors can be harvested", ModelPath, Hooks[hook].Name);
        }
        return rowsND;
    }

    private int[] Probe()
    {
        var widths = new int[_outputNames.Length];
        var probe = Run(new[] { new[] { _options.PadTokenId } });
        for (int h = 0; h < widths.Length; h++) widths[h] = probe[h].Length;
        return widths;
    }

    private void CheckInputs()
    {
        foreach (var (name, meta) in _session.InputMetadata)
        {
            if (Classify(name) == InputKind.Unknown)
                throw new SaeSharpException(
                    $"graph input `{name}` ({meta.ElementDataType}) is not one the harvester can fill (input_ids, attention_mask, position_ids, token_type_ids, past_key_values.*, use_cache_branch)",
                    ModelPath, name);
        }
    }

    private enum InputKind { Ids, Mask, Positions, TokenTypes, Past, CacheBranch, Unknown }

    private InputKind Classify(string name)
    {
        if (name == _idsInput) return InputKind.Ids;
        return name switch
        {
            "attention_mask" => InputKind.Mask,
            "position_ids" => InputKind.Positions,
            "token_type_ids" => InputKind.TokenTypes,
            "use_cache_branch" => InputKind.CacheBranch,
            _ when name.StartsWith("past_key_values", StringComparison.Ordinal) || name.StartsWith("past.", StringComparison.Ordinal)
                || name.StartsWith("past_key", StringComparison.Ordinal) || name.StartsWith("past_value", StringComparison.Ordinal) => InputKind.Past,
            _ => InputKind.Unknown,
        };
    }

    private OrtValue CreateInput(string name, NodeMetadata meta, IReadOnlyList<int[]> sequences, int batch, int time)
    {
        var kind = Classify(name);
        long[] shape = { batch, time };
        switch (kind)
        {
            case InputKind.Ids:
                return Integers(meta, shape, (b, t) => t < sequences[b].Length ? sequences[b][t] : _options.PadTokenId, name);
            case InputKind.Mask:
                return Integers(meta, shape, (b, t) => t < sequences[b].Length ? 1 : 0, name);
            case InputKind.Positions:
                return Integers(meta, shape, (b, t) => t < sequences[b].Length ? t : 0, name);
            case InputKind.TokenTypes:
                return Integers(meta, shape, (_, _) => 0, name);
            case InputKind.CacheBranch:
                if (meta.ElementDataType != TensorElementType.Bool)
                    throw new SaeSharpException($"use_cache_branch has type {meta.ElementDataType}; expected bool", ModelPath, name);
                return OrtValue.CreateTensorValueFromMemory(new[] { false }, new long[] { 1 });
            case InputKind.Past:
            {
                // [batch, heads, past_sequence, head_dim] with no past: the one symbolic non-batch dimension is 0.
                var dims = meta.Dimensions;
                var pastShape = new long[dims.Length];
                int symbolic = 0;
                for (int i = 0; i < dims.Length; i++)
                {
                    if (i == 0) pastShape[i] = batch;
                    else if (dims[i] > 0) pastShape[i] = dims[i];
                    else { pastShape[i] = 0; symbolic++; }
                }
                if (dims.Length < 2 || symbolic != 1)
                    throw new SaeSharpException($"cannot tell the past-sequence dimension of shape [{string.Join(", ", meta.SymbolicDimensions.Select((s, i) => dims[i] > 0 ? dims[i].ToString() : s))}]", ModelPath, name);
                return OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, meta.ElementDataType, pastShape);
            }
            default:
                throw new SaeSharpException("input the harvester cannot fill", ModelPath, name);
        }
    }

    private OrtValue Integers(NodeMetadata meta, long[] shape, Func<int, int, int> value, string name)
    {
        int batch = (int)shape[0], time = (int)shape[1];
        switch (meta.ElementDataType)
        {
            case TensorElementType.Int64:
            {
                var data = new long[batch * time];
                for (int b = 0; b < batch; b++) for (int t = 0; t < time; t++) data[b * time + t] = value(b, t);
                return OrtValue.CreateTensorValueFromMemory(data, shape);
            }
            case TensorElementType.Int32:
            {
                var data = new int[batch * time];
                for (int b = 0; b < batch; b++) for (int t = 0; t < time; t++) data[b * time + t] = value(b, t);
                return OrtValue.CreateTensorValueFromMemory(data, shape);
            }
            case TensorElementType.Float:
            {
                var data = new float[batch * time];
                for (int b = 0; b < batch; b++) for (int t = 0; t < time; t++) data[b * time + t] = value(b, t);
                return OrtValue.CreateTensorValueFromMemory(data, shape);
            }
            case TensorElementType.Bool:
            {
                var data = new bool[batch * time];
                for (int b = 0; b < batch; b++) for (int t = 0; t < time; t++) data[b * time + t] = value(b, t) != 0;
                return OrtValue.CreateTensorValueFromMemory(data, shape);
            }
            default:
                throw new SaeSharpException($"input has element type {meta.ElementDataType}; expected int64, int32, float or bool", ModelPath, name);
        }
    }

    private static string FindIdsInput(OnnxGraph graph, OnnxHostOptions options)
    {
        var inputs = graph.Inputs;
        if (options.InputIdsName is { } named)
            return inputs.Any(i => i.Name == named) ? named
                : throw new SaeSharpException($"the graph has no input `{named}`; its inputs are {string.Join(", ", inputs.Select(i => i.Name))}", graph.SourcePath, nameof(OnnxHostOptions.InputIdsName));
        if (inputs.Any(i => i.Name == "input_ids")) return "input_ids";
        var integers = inputs.Where(i => i.ElementType is "int64" or "int32" && i.Name is not ("attention_mask" or "position_ids" or "token_type_ids")).ToArray();
        if (integers.Length == 1) return integers[0].Name;
        throw new SaeSharpException($"cannot tell which input takes the token ids (inputs: {string.Join(", ", inputs.Select(i => $"{i.Name}:{i.ElementType}"))}); name it with InputIdsName", graph.SourcePath);
    }

    private static int? FindVocabSize(OnnxGraph graph, string idsInput)
    {
        // The token embedding: a Gather whose indices are the ids (possibly after a Cast) and whose data is a [V, D]
        // initializer, or a [V] id lookup in front of a compact embedding (OnnxExportOptions.Vocabulary).
        var idsNames = new HashSet<string>(StringComparer.Ordinal) { idsInput };
        foreach (var node in graph.Nodes)
            if (node.OpType == "Cast" && node.Inputs.Count == 1 && idsNames.Contains(node.Inputs[0])) idsNames.Add(node.Outputs[0]);
        foreach (var node in graph.Nodes)
        {
            if (node.OpType != "Gather" || node.Inputs.Count != 2 || !idsNames.Contains(node.Inputs[1])) continue;
            var dims = graph.InitializerDims(node.Inputs[0]);
            if (dims is { Count: 1 or 2 } && dims[0] > 0 && dims[0] <= int.MaxValue) return (int)dims[0];
        }
        return null;
    }
}
