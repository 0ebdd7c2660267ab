using SaeSharp.Harvest.Onnx;

namespace SaeSharp.Harvest.Tests.Onnx;

public sealed class HookFinderTests
{
    public static TheoryData<string> Models => new() { "gptneo-fused.onnx", "gptneo-decomposed.onnx" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Find_PyTorchGptNeo_EveryBlockInOrderAtItsFirstLayerNorm(string file)
    {
        var graph = OnnxGraph.Load(Fixtures.GptNeo(file));
        var hooks = HookFinder.Find(graph);
        var names = hooks.Select(h => h.Name).ToArray();
        Assert.Equal(new[]
        {
            "resid_pre.0", "resid_mid.0", "resid_post.0", "resid_pre.1", "resid_mid.1", "resid_post.1",
            "resid_pre.2", "resid_mid.2", "resid_post.2",
        }, names);
        // The structural rule: resid_pre.i is the input of block i's first LayerNorm, resid_mid.i of its second,
        // and the last resid_post of the final LayerNorm. LayerNorm inputs come in node order.
        var norms = HookFinder.LayerNormInputs(graph);
        Assert.Equal(7, norms.Count);
        var expected = new[] { "resid_pre.0", "resid_mid.0", "resid_pre.1", "resid_mid.1", "resid_pre.2", "resid_mid.2", "resid_post.2" };
        Assert.Equal(expected.Select(n => hooks.Single(h => h.Name == n).TensorName), norms);
        for (int i = 0; i < 2; i++)
            Assert.Equal(hooks.Single(h => h.Name == $"resid_post.{i}").TensorName, hooks.Single(h => h.Name == $"resid_pre.{i + 1}").TensorName);
    }

    [Fact]
    public void LayerNormInputs_FusedAndDecomposedExports_FindTheSameCount()
    {
        var fused = OnnxGraph.Load(Fixtures.FusedModel);
        var decomposed = OnnxGraph.Load(Fixtures.DecomposedModel);
        Assert.Equal(7, fused.Nodes.Count(n => n.OpType == "LayerNormalization"));
        Assert.DoesNotContain(decomposed.Nodes, n => n.OpType == "LayerNormalization");
        Assert.Equal(HookFinder.LayerNormInputs(fused).Count, HookFinder.LayerNormInputs(decomposed).Count);
    }

    [Fact]
    public void Find_RenamedNodesAndTensors_SameStructure()
    {
        // Discovery must not lean on exporter names: rename every node and intermediate tensor and find the same hooks.
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        var model = graph.Model.Clone();
        var rename = new Dictionary<string, string>();
        int k = 0;
        foreach (var node in model.Graph.Node)
        {
            node.Name = $"n{k++}";
            for (int i = 0; i < node.Output.Count; i++)
            {
                rename[node.Output[i]] = $"t{k}_{i}";
                node.Output[i] = rename[node.Output[i]];
            }
        }
        foreach (var node in model.Graph.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (rename.TryGetValue(node.Input[i], out var r)) node.Input[i] = r;
        foreach (var output in model.Graph.Output)
            if (rename.TryGetValue(output.Name, out var r)) output.Name = r;
        var dir = Fixtures.NewTempDir();
        var path = Path.Combine(dir, "renamed.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var original = HookFinder.Find(graph);
        var renamed = HookFinder.Find(OnnxGraph.Load(path));
        Assert.Equal(original.Select(h => h.Name), renamed.Select(h => h.Name));
        Assert.Equal(original.Select(h => rename[h.TensorName]), renamed.Select(h => h.TensorName));
    }

    [Fact]
    public void Resolve_AllHookNamesAndTensorNames()
    {
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        var all = HookFinder.Resolve(graph, new[] { "all" });
        Assert.Equal(7, all.Count); // 9 names, 7 distinct tensors (resid_post.i == resid_pre.i+1)
        Assert.Equal(all.Count, all.Select(h => h.TensorName).Distinct().Count());
        var some = HookFinder.Resolve(graph, new[] { "resid_post.1", "/h.0/ln_1/LayerNormalization_output_0" });
        Assert.Equal("resid_post.1", some[0].Name);
        Assert.Equal("tensor", some[1].Kind);
        var e = Assert.Throws<SaeSharpException>(() => HookFinder.Resolve(graph, new[] { "resid_pre.9" }));
        Assert.Contains("resid_pre.9", e.Message);
        Assert.Contains("hooks found", e.Message);
    }

    [Fact]
    public void Find_GraphWithoutResidual_ClearError()
    {
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        var model = graph.Model.Clone();
        // Keep only the embedding: Add(wte, wpe) is not x + f(x).
        var keep = model.Graph.Node.TakeWhile(n => n.OpType != "LayerNormalization").ToList();
        model.Graph.Node.Clear();
        model.Graph.Node.AddRange(keep);
        model.Graph.Output.Clear();
        model.Graph.Output.Add(new SaeSharp.Harvest.Onnx.Proto.ValueInfoProto { Name = keep.Last(n => n.OpType == "Add").Output[0] });
        var path = Path.Combine(Fixtures.NewTempDir(), "embed-only.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var e = Assert.Throws<SaeSharpException>(() => HookFinder.Find(OnnxGraph.Load(path)));
        Assert.Contains("no residual stream found", e.Message);
        Assert.Contains("set `hooks` to TENSOR_NAME", e.Message);
    }

    [Fact]
    public void Find_MergedDecoder_SaysExportWithoutPast()
    {
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        var inner = graph.Model.Graph.Clone();
        var model = graph.Model.Clone();
        var ifNode = new SaeSharp.Harvest.Onnx.Proto.NodeProto { Name = "optimum::if", OpType = "If" };
        ifNode.Input.Add("use_cache_branch");
        ifNode.Output.Add("logits");
        ifNode.Attribute.Add(new SaeSharp.Harvest.Onnx.Proto.AttributeProto { Name = "then_branch", G = inner, Type = SaeSharp.Harvest.Onnx.Proto.AttributeProto.Types.AttributeType.Graph });
        ifNode.Attribute.Add(new SaeSharp.Harvest.Onnx.Proto.AttributeProto { Name = "else_branch", G = inner.Clone(), Type = SaeSharp.Harvest.Onnx.Proto.AttributeProto.Types.AttributeType.Graph });
        model.Graph.Node.Clear();
        model.Graph.Initializer.Clear();
        model.Graph.Node.Add(ifNode);
        var path = Path.Combine(Fixtures.NewTempDir(), "merged.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var e = Assert.Throws<SaeSharpException>(() => HookFinder.Find(OnnxGraph.Load(path)));
        Assert.Contains("merged decoder", e.Message);
        Assert.Contains("without past key values", e.Message);
    }
}
