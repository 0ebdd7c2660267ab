namespace SaeSharp.Harvest.Onnx;

/// <summary>
/// Finds the residual stream of a decoder graph by structure, never by exporter-specific node names.
/// A residual <c>Add</c> is one whose input <c>x</c> also reaches its other input through at least one matrix
/// product (<c>x + f(x)</c>); these Adds chain, each one's output being the next one's skip input, from the
/// embedding to the final norm (or, in a norm-free model, to the unembedding). A block starts at the link whose
/// branch holds attention (<c>Softmax</c>): in a pre-norm model that point is the input of the block's first
/// LayerNorm, and the chain's end is the input of the final LayerNorm.
/// </summary>
public static class HookFinder
{
    private static readonly HashSet<string> MatrixOps = new(StringComparer.Ordinal)
        { "MatMul", "Gemm", "MatMulInteger", "FusedMatMul", "Einsum", "Conv", "QLinearMatMul", "MatMulNBits" };

    private static readonly HashSet<string> AttentionOps = new(StringComparer.Ordinal)
        { "Softmax", "Attention", "MultiHeadAttention", "GroupQueryAttention", "LogSoftmax" };

    /// <summary>The residual hooks of <paramref name="graph"/>: <c>resid_pre.i</c>, <c>resid_mid.i</c>, <c>resid_post.i</c> for every block i, in order.</summary>
    /// <exception cref="SaeSharpException">No residual stream was found; for a merged decoder (blocks inside <c>If</c> subgraphs) the message says how to re-export.</exception>
    public static IReadOnlyList<HookPoint> Find(OnnxGraph graph)
    {
        var index = new GraphIndex(graph);
        var chain = LongestChain(index);
        if (chain.Count == 0)
        {
            ThrowIfMergedDecoder(graph);
            throw new SaeSharpException(
                "no residual stream found: no Add node adds a tensor to a matrix-product function of itself (x + f(x)); "
                + "name the tensors to harvest directly (set `hooks` to TENSOR_NAME)", graph.SourcePath);
        }

        var starts = new List<int>();
        for (int k = 0; k < chain.Count; k++)
            if (index.Between(chain[k].Skip, chain[k].Branch).Any(n => AttentionOps.Contains(n.OpType)))
                starts.Add(k);
        if (starts.Count == 0)
            starts.AddRange(Enumerable.Range(0, chain.Count)); // a residual MLP without attention: every link is a block

        var hooks = new List<HookPoint>();
        for (int block = 0; block < starts.Count; block++)
        {
            int first = starts[block], end = block + 1 < starts.Count ? starts[block + 1] : chain.Count;
            hooks.Add(new HookPoint($"resid_pre.{block}", chain[first].Skip, block, "resid_pre"));
            int mids = end - first - 1;
            for (int k = first; k < end - 1; k++)
            {
                string name = mids == 1 ? $"resid_mid.{block}" : $"resid_mid.{block}.{k - first}";
                hooks.Add(new HookPoint(name, chain[k].Output, block, "resid_mid"));
            }
            hooks.Add(new HookPoint($"resid_post.{block}", chain[end - 1].Output, block, "resid_post"));
        }
        return hooks;
    }

    /// <summary>
    /// Resolves the user's hook list: <c>all</c> (every distinct residual tensor found), hook names such as
    /// <c>resid_post.2</c>, or tensor names of the graph. Order is kept; repeats are dropped.
    /// </summary>
    /// <exception cref="SaeSharpException">A name is neither a hook found nor a tensor of the graph.</exception>
    public static IReadOnlyList<HookPoint> Resolve(OnnxGraph graph, IReadOnlyList<string> names)
    {
        if (names.Count == 0)
            throw new SaeSharpException("no hooks named; give hook names (see `saesharp hooks`), tensor names, or `all`", field: "hooks");
        IReadOnlyList<HookPoint>? found = null;
        SaeSharpException? findError = null;
        bool NeedFound(string n) => n == "all" || n.StartsWith("resid_", StringComparison.Ordinal);
        if (names.Any(NeedFound))
        {
            try { found = Find(graph); }
            catch (SaeSharpException e) { findError = e; }
        }
        var tensors = graph.TensorNames;
        var result = new List<HookPoint>();
        var seenTensors = new HashSet<string>(StringComparer.Ordinal);
        void Add(HookPoint h)
        {
            if (seenTensors.Add(h.TensorName)) result.Add(h);
        }
        foreach (var name in names)
        {
            if (name == "all")
            {
                if (found is null) throw findError!;
                foreach (var h in found) Add(h);
                continue;
            }
            var hook = found?.FirstOrDefault(h => h.Name == name);
            if (hook is not null) { Add(hook); continue; }
            if (tensors.Contains(name)) { Add(new HookPoint(name, name, -1, "tensor")); continue; }
            if (findError is not null && NeedFound(name)) throw findError;
            var known = found is null ? "" : $"; hooks found: {string.Join(", ", found.Select(h => h.Name))}";
            throw new SaeSharpException($"hook `{name}` is neither a hook point found in the graph nor one of its tensors{known}", graph.SourcePath, "hooks");
        }
        return result;
    }

    /// <summary>Inputs of the graph's LayerNorms, fused (<c>LayerNormalization</c>) or decomposed (ReduceMean, Sub, ..., Div), in node order.</summary>
    public static IReadOnlyList<string> LayerNormInputs(OnnxGraph graph)
    {
        var index = new GraphIndex(graph);
        var inputs = new List<string>();
        foreach (var node in graph.Nodes)
        {
            if (node.OpType is "LayerNormalization" or "SimplifiedLayerNormalization" or "SkipLayerNormalization")
            {
                inputs.Add(node.Inputs[0]);
                continue;
            }
            // Decomposed: mean = ReduceMean(x); d = Sub(x, mean); ... Div(d, sqrt(var + eps)).
            if (node.OpType != "ReduceMean" || node.Inputs.Count == 0) continue;
            string x = node.Inputs[0], mean = node.Outputs[0];
            foreach (var sub in index.ConsumersOf(mean))
            {
                if (sub.OpType != "Sub" || sub.Inputs.Count != 2 || sub.Inputs[0] != x || sub.Inputs[1] != mean) continue;
                if (index.ConsumersOf(sub.Outputs[0]).Any(d => d.OpType == "Div" && d.Inputs[0] == sub.Outputs[0]))
                {
                    inputs.Add(x);
                    break;
                }
            }
        }
        return inputs;
    }

    private static void ThrowIfMergedDecoder(OnnxGraph graph)
    {
        foreach (var (node, count, ops) in graph.Subgraphs())
        {
            if (node.OpType == "If" && ops.Overlaps(MatrixOps))
                throw new SaeSharpException(
                    $"this is a merged decoder: its transformer blocks sit inside the subgraphs of If node `{node.Name}` ({count} nodes), "
                    + "where no tensor can be fetched. Export the model without past key values (e.g. optimum-cli export onnx "
                    + "--task text-generation without -with-past, or --no-post-process) and harvest that graph", graph.SourcePath);
        }
    }

    private sealed record Link(string Skip, string Branch, string Output, int NodeIndex);

    private static List<Link> LongestChain(GraphIndex index)
    {
        var links = new List<Link>();
        foreach (var node in index.Graph.Nodes)
        {
            if (node.OpType != "Add" || node.Domain.Length != 0 || node.Inputs.Count != 2) continue;
            string a = node.Inputs[0], b = node.Inputs[1];
            if (index.IsConstant(a) || index.IsConstant(b)) continue;
            if (index.ReachesThroughMatrixProduct(b, a)) links.Add(new Link(a, b, node.Outputs[0], node.Index));
            else if (index.ReachesThroughMatrixProduct(a, b)) links.Add(new Link(b, a, node.Outputs[0], node.Index));
        }
        var bySkip = new Dictionary<string, Link>(StringComparer.Ordinal);
        foreach (var link in links) bySkip.TryAdd(link.Skip, link);
        var successors = new HashSet<Link>();
        Link? Next(Link l)
        {
            foreach (var alias in index.Aliases(l.Output))
                if (bySkip.TryGetValue(alias, out var next)) return next;
            return null;
        }
        foreach (var link in links)
            if (Next(link) is { } n) successors.Add(n);

        var best = new List<Link>();
        foreach (var head in links.Where(l => !successors.Contains(l)))
        {
            var chain = new List<Link>();
            var seen = new HashSet<Link>();
            for (Link? l = head; l is not null && seen.Add(l); l = Next(l)) chain.Add(l);
            if (chain.Count > best.Count) best = chain;
        }
        // The stream may pass through Identity nodes between links: name each link's skip as its predecessor's output.
        for (int k = 1; k < best.Count; k++)
            if (best[k].Skip != best[k - 1].Output)
                best[k] = best[k] with { Skip = best[k - 1].Output };
        return best;
    }

    /// <summary>Producer and consumer maps of one graph.</summary>
    private sealed class GraphIndex
    {
        private readonly Dictionary<string, OnnxNode> _producer = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<OnnxNode>> _consumers = new(StringComparer.Ordinal);
        private readonly IReadOnlySet<string> _initializers;

        public GraphIndex(OnnxGraph graph)
        {
            Graph = graph;
            _initializers = graph.InitializerNames;
            foreach (var node in graph.Nodes)
            {
                foreach (var o in node.Outputs) if (o.Length > 0) _producer[o] = node;
                foreach (var i in node.Inputs)
                {
                    if (i.Length == 0) continue;
                    if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = new List<OnnxNode>();
                    list.Add(node);
                }
            }
        }

        public OnnxGraph Graph { get; }

        public IReadOnlyList<OnnxNode> ConsumersOf(string tensor) => _consumers.TryGetValue(tensor, out var l) ? l : Array.Empty<OnnxNode>();

        public bool IsConstant(string tensor) =>
            _initializers.Contains(tensor) || (_producer.TryGetValue(tensor, out var p) && p.OpType == "Constant");

        /// <summary>The tensor and every tensor that is the same value through Identity nodes (exporters name hook points that way).</summary>
        public List<string> Aliases(string tensor)
        {
            var aliases = new List<string> { tensor };
            for (int i = 0; i < aliases.Count && aliases.Count < 64; i++)
                foreach (var c in ConsumersOf(aliases[i]))
                    if (c.OpType == "Identity" && c.Outputs.Count == 1 && !aliases.Contains(c.Outputs[0])) aliases.Add(c.Outputs[0]);
            return aliases;
        }

        /// <summary>Whether <paramref name="target"/> is an ancestor of <paramref name="from"/> along a path with a matrix product.</summary>
        public bool ReachesThroughMatrixProduct(string from, string target)
        {
            var visited = new HashSet<(string, bool)>();
            var stack = new Stack<(string Tensor, bool ViaMatrix)>();
            stack.Push((from, false));
            while (stack.Count > 0)
            {
                var (tensor, via) = stack.Pop();
                if (!_producer.TryGetValue(tensor, out var node)) continue;
                bool nextVia = via || MatrixOps.Contains(node.OpType);
                foreach (var input in node.Inputs)
                {
                    if (input.Length == 0) continue;
                    if (input == target)
                    {
                        if (nextVia) return true;
                        continue; // a path must end at the target, not pass through it
                    }
                    if (visited.Add((input, nextVia))) stack.Push((input, nextVia));
                }
            }
            return false;
        }

        /// <summary>Nodes that descend from <paramref name="from"/> and lead to <paramref name="to"/>.</summary>
        public List<OnnxNode> Between(string from, string to)
        {
            if (!_producer.TryGetValue(to, out var last)) return new List<OnnxNode>();
            var descendants = new HashSet<OnnxNode>();
            var stack = new Stack<string>();
            stack.Push(from);
            while (stack.Count > 0)
            {
                foreach (var c in ConsumersOf(stack.Pop()))
                {
                    if (c.Index > last.Index || !descendants.Add(c)) continue;
                    foreach (var o in c.Outputs) if (o.Length > 0) stack.Push(o);
                }
            }
            var result = new List<OnnxNode>();
            var seen = new HashSet<OnnxNode>();
            var back = new Stack<OnnxNode>();
            back.Push(last);
            seen.Add(last);
            while (back.Count > 0)
            {
                var node = back.Pop();
                if (!descendants.Contains(node)) continue;
                result.Add(node);
                foreach (var i in node.Inputs)
                    if (i.Length > 0 && _producer.TryGetValue(i, out var p) && seen.Add(p)) back.Push(p);
            }
            return result;
        }
    }
}
