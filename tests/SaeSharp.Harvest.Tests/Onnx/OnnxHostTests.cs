using System.Text.Json;
using SaeSharp.Harvest.Onnx;
using SaeSharp.IO;

namespace SaeSharp.Harvest.Tests.Onnx;

public sealed class OnnxHostTests
{
    private static int[][] Sequences() =>
        JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Fixtures.GptNeo("token_ids.json")))!;

    /// <summary>The expected rows of one hook from PyTorch, padding dropped: [sum of lengths, D].</summary>
    internal static float[] ExpectedRows(string hook, int[][] sequences)
    {
        var expected = SafeTensorsFile.Read(Fixtures.GptNeo("expected.safetensors"));
        var tensor = expected.Tensors[hook];
        var all = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();
        int time = (int)tensor.Shape[1], d = (int)tensor.Shape[2];
        var rows = new List<float>();
        for (int b = 0; b < sequences.Length; b++)
            rows.AddRange(all.AsSpan(b * time * d, sequences[b].Length * d).ToArray());
        return rows.ToArray();
    }

    public static TheoryData<string> Models => new() { "gptneo-fused.onnx", "gptneo-decomposed.onnx" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Run_PaddedBatch_EqualsPyTorchHiddenStates(string file)
    {
        var path = Fixtures.GptNeo(file);
        var hooks = HookFinder.Find(OnnxGraph.Load(path));
        using var host = OnnxHost.Open(path, hooks, new OnnxHostOptions { IntraOpThreads = 1 });
        Assert.Equal(384, host.VocabSize);
        Assert.All(host.HookWidths, d => Assert.Equal(48, d));
        var sequences = Sequences();
        var rows = host.Run(sequences);
        for (int h = 0; h < hooks.Count; h++)
        {
            var expected = ExpectedRows(hooks[h].Name, sequences);
            Assert.Equal(expected.Length, rows[h].Length);
            float worst = 0;
            for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - rows[h][i]));
            Assert.True(worst < 1e-4f, $"{hooks[h].Name}: max |diff| {worst}");
        }
    }

    [Fact]
    public void Run_OneSequenceAlone_SameRowsAsInsideAPaddedBatch()
    {
        var hooks = HookFinder.Resolve(OnnxGraph.Load(Fixtures.FusedModel), new[] { "resid_post.2" });
        using var host = OnnxHost.Open(Fixtures.FusedModel, hooks);
        var sequences = Sequences();
        var batch = host.Run(sequences)[0];
        int offset = 0;
        foreach (var s in sequences)
        {
            var alone = host.Run(new[] { s })[0];
            for (int i = 0; i < alone.Length; i++)
                Assert.True(Math.Abs(alone[i] - batch[offset + i]) < 1e-5f);
            offset += alone.Length;
        }
    }

    [Fact]
    public void Run_IdOutsideVocabulary_ClearErrorBeforeTheModel()
    {
        var hooks = HookFinder.Resolve(OnnxGraph.Load(Fixtures.FusedModel), new[] { "resid_pre.0" });
        using var host = OnnxHost.Open(Fixtures.FusedModel, hooks);
        var e = Assert.Throws<SaeSharpException>(() => host.Run(new[] { new[] { 1, 2, 384 } }));
        Assert.Contains("token id 384", e.Message);
        Assert.Contains("vocabulary of 384", e.Message);
    }

    [Fact]
    public void Open_ExternalDataModel_LoadsWeightsFromBesideTheFile()
    {
        // Graphs above 2 GB keep their weights in external files; the mechanism is the same at any size.
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        var model = graph.Model.Clone();
        var dir = Fixtures.NewTempDir();
        using (var data = File.Create(Path.Combine(dir, "weights.bin")))
        {
            foreach (var tensor in model.Graph.Initializer.Where(t => t.RawData.Length > 1024))
            {
                long offset = data.Position;
                tensor.RawData.WriteTo(data);
                tensor.ExternalData.Add(new SaeSharp.Harvest.Onnx.Proto.StringStringEntryProto { Key = "location", Value = "weights.bin" });
                tensor.ExternalData.Add(new SaeSharp.Harvest.Onnx.Proto.StringStringEntryProto { Key = "offset", Value = offset.ToString() });
                tensor.ExternalData.Add(new SaeSharp.Harvest.Onnx.Proto.StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString() });
                tensor.DataLocation = SaeSharp.Harvest.Onnx.Proto.TensorProto.Types.DataLocation.External;
                tensor.ClearRawData();
            }
        }
        var path = Path.Combine(dir, "external.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        Assert.True(new FileInfo(path).Length < 100_000);
        var loaded = OnnxGraph.Load(path);
        Assert.True(loaded.HasExternalData);
        var hooks = HookFinder.Find(loaded);
        using var host = OnnxHost.Open(path, hooks);
        var sequences = Sequences();
        var rows = host.Run(sequences);
        var expected = ExpectedRows("resid_post.2", sequences);
        int h = hooks.ToList().FindIndex(x => x.Name == "resid_post.2");
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - rows[h][i]) < 1e-4f);
    }

    [Fact]
    public void Open_CudaWithoutGpuPackage_ClearError()
    {
        var hooks = HookFinder.Resolve(OnnxGraph.Load(Fixtures.FusedModel), new[] { "resid_pre.0" });
        var e = Assert.Throws<SaeSharpException>(() => OnnxHost.Open(Fixtures.FusedModel, hooks, new OnnxHostOptions { ExecutionProvider = OnnxExecutionProvider.Cuda }));
        Assert.Contains("CUDA execution provider", e.Message);
    }

    [Fact]
    public void Open_DecoderWithPastInputs_FillsEmptyPastAndUseCacheBranch()
    {
        // A graph with the extra inputs of an exported decoder-with-past: each past tensor is added to the
        // graph through a ReduceSum so that a wrong shape or dtype would fail the run.
        var graph = OnnxGraph.Load(Fixtures.FusedModel);
        var model = graph.Model.Clone();
        var pastType = new SaeSharp.Harvest.Onnx.Proto.TypeProto { TensorType = new() { ElemType = 1, Shape = new() } };
        pastType.TensorType.Shape.Dim.Add(new SaeSharp.Harvest.Onnx.Proto.TensorShapeProto.Types.Dimension { DimParam = "batch" });
        pastType.TensorType.Shape.Dim.Add(new SaeSharp.Harvest.Onnx.Proto.TensorShapeProto.Types.Dimension { DimValue = 4 });
        pastType.TensorType.Shape.Dim.Add(new SaeSharp.Harvest.Onnx.Proto.TensorShapeProto.Types.Dimension { DimParam = "past_sequence_length" });
        pastType.TensorType.Shape.Dim.Add(new SaeSharp.Harvest.Onnx.Proto.TensorShapeProto.Types.Dimension { DimValue = 12 });
        model.Graph.Input.Add(new SaeSharp.Harvest.Onnx.Proto.ValueInfoProto { Name = "past_key_values.0.key", Type = pastType });
        var boolType = new SaeSharp.Harvest.Onnx.Proto.TypeProto { TensorType = new() { ElemType = 9, Shape = new() } };
        boolType.TensorType.Shape.Dim.Add(new SaeSharp.Harvest.Onnx.Proto.TensorShapeProto.Types.Dimension { DimValue = 1 });
        model.Graph.Input.Add(new SaeSharp.Harvest.Onnx.Proto.ValueInfoProto { Name = "use_cache_branch", Type = boolType });
        var sum = new SaeSharp.Harvest.Onnx.Proto.NodeProto { OpType = "ReduceSum", Name = "past_sum" };
        sum.Input.Add("past_key_values.0.key");
        sum.Output.Add("past_sum_out");
        sum.Attribute.Add(new SaeSharp.Harvest.Onnx.Proto.AttributeProto { Name = "keepdims", I = 0, Type = SaeSharp.Harvest.Onnx.Proto.AttributeProto.Types.AttributeType.Int });
        var cast = new SaeSharp.Harvest.Onnx.Proto.NodeProto { OpType = "Cast", Name = "branch_cast" };
        cast.Input.Add("use_cache_branch");
        cast.Output.Add("branch_float");
        cast.Attribute.Add(new SaeSharp.Harvest.Onnx.Proto.AttributeProto { Name = "to", I = 1, Type = SaeSharp.Harvest.Onnx.Proto.AttributeProto.Types.AttributeType.Int });
        var mul = new SaeSharp.Harvest.Onnx.Proto.NodeProto { OpType = "Mul", Name = "probe_mul" };
        mul.Input.Add("past_sum_out");
        mul.Input.Add("branch_float");
        mul.Output.Add("probe");
        model.Graph.Node.Add(sum);
        model.Graph.Node.Add(cast);
        model.Graph.Node.Add(mul);
        var residual = HookFinder.Find(graph).Single(h => h.Name == "resid_post.0").TensorName;
        var add = new SaeSharp.Harvest.Onnx.Proto.NodeProto { OpType = "Add", Name = "checked_add" };
        add.Input.Add(residual);
        add.Input.Add("probe");
        add.Output.Add("checked");
        model.Graph.Node.Add(add);
        var path = Path.Combine(Fixtures.NewTempDir(), "with-past.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var loaded = OnnxGraph.Load(path);
        var hooks = HookFinder.Resolve(loaded, new[] { "checked" });
        using var host = OnnxHost.Open(path, hooks);
        var sequences = Sequences();
        var rows = host.Run(sequences);
        var expected = ExpectedRows("resid_post.0", sequences);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - rows[0][i]) < 1e-4f);
    }
}
