using Google.Protobuf;
using SaeSharp.Harvest.Onnx;

namespace SaeSharp.Harvest.Tests.Onnx;

public sealed class OnnxGraphTests
{
    [Fact]
    public void Load_NotAnOnnxFile_ClearError()
    {
        var dir = Fixtures.NewTempDir();
        var text = Path.Combine(dir, "model.onnx");
        File.WriteAllText(text, "this is not a model, just some text\n");
        var e = Assert.Throws<SaeSharpException>(() => OnnxGraph.Load(text));
        Assert.Contains("not an ONNX", e.Message);
        Assert.Equal(Path.GetFullPath(text), e.FilePath);
        var empty = Path.Combine(dir, "empty.onnx");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        Assert.Contains("not an ONNX", Assert.Throws<SaeSharpException>(() => OnnxGraph.Load(empty)).Message);
        Assert.Contains("not found", Assert.Throws<SaeSharpException>(() => OnnxGraph.Load(Path.Combine(dir, "absent.onnx"))).Message);
    }

    [Fact]
    public void Load_PyTorchExport_ListsInputsNodesAndTensors()
    {
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        Assert.Equal(new[] { "input_ids", "attention_mask" }, graph.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { "batch", "sequence" }, graph.Inputs[0].Dims);
        Assert.Equal("int64", graph.Inputs[0].ElementType);
        Assert.Equal("logits", Assert.Single(graph.Outputs).Name);
        Assert.Contains("transformer.wte.weight", graph.InitializerNames);
        Assert.Equal(new long[] { 384, 48 }, graph.InitializerDims("transformer.wte.weight"));
        Assert.All(graph.Nodes.SelectMany(n => n.Outputs), o => Assert.Contains(o, graph.TensorNames));
    }

    [Fact]
    public void WithOutputs_RoundTrip_KeepsUnknownFieldsAndEverythingElse()
    {
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        // Add fields the schema subset does not model (ModelProto.training_info = 20, GraphProto.sparse_initializer = 15):
        // they must survive the edit unchanged.
        var original = File.ReadAllBytes(Fixtures.FusedModel);
        var extra = new byte[] { 0xA2, 0x01, 0x03, 0x0A, 0x01, 0x78 }; // field 20, length-delimited, 3 bytes
        var withUnknown = original.Concat(extra).ToArray();
        var dir = Fixtures.NewTempDir();
        var source = Path.Combine(dir, "with-unknown.onnx");
        File.WriteAllBytes(source, withUnknown);
        var loaded = OnnxGraph.Load(source);
        var hook = HookFinder.Find(loaded)[1].TensorName;
        var edited = loaded.WithOutputs(new[] { hook }, prune: false);
        var path = Path.Combine(dir, "edited.onnx");
        edited.Save(path);
        var back = OnnxGraph.Load(path);
        Assert.Equal(hook, Assert.Single(back.Outputs).Name);
        Assert.Equal(loaded.Nodes.Count, back.Nodes.Count);
        Assert.Equal(loaded.InitializerNames, back.InitializerNames);
        // Restoring the original outputs gives the original bytes back, unknown field included.
        var restored = back.Model.Clone();
        restored.Graph.Output.Clear();
        restored.Graph.Output.AddRange(loaded.Model.Graph.Output);
        Assert.Equal(withUnknown.Length, restored.ToByteArray().Length);
        Assert.True(restored.ToByteArray().AsSpan().EndsWith(extra));
        Assert.Throws<SaeSharpException>(() => loaded.WithOutputs(new[] { "no-such-tensor" }));
    }

    [Fact]
    public void WithOutputs_Pruned_KeepsOnlyWhatTheOutputsNeed()
    {
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        var hooks = HookFinder.Find(graph);
        var pruned = graph.WithOutputs(new[] { hooks.Single(h => h.Name == "resid_post.0").TensorName });
        Assert.True(pruned.Nodes.Count < graph.Nodes.Count / 2);
        Assert.Equal(2, HookFinder.LayerNormInputs(pruned).Count); // block 0's two LayerNorms; later blocks and ln_f are gone
        Assert.DoesNotContain("transformer.h.1.ln_1.weight", pruned.InitializerNames);
        Assert.Contains("transformer.wte.weight", pruned.InitializerNames);
        // Every remaining node's inputs are produced by a remaining node, an initializer or a graph input.
        var available = new HashSet<string>(pruned.InitializerNames.Concat(pruned.Inputs.Select(i => i.Name)));
        foreach (var node in pruned.Nodes)
        {
            Assert.All(node.Inputs.Where(i => i.Length > 0), i => Assert.Contains(i, available));
            foreach (var o in node.Outputs) available.Add(o);
        }
    }
}
