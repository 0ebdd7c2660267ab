using SaeSharp.Harvest.Onnx;
using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Harvest.Tests.Onnx;

/// <summary>Hook discovery and the ONNX host on graphs from our own exporter, against the TorchSharp model's hooks.</summary>
[Collection("Torch")]
public sealed class ExportedGraphHarvestTests
{
    public static TheoryData<string> Hosts => new() { "modadd", "gptneo" };

    private static HostConfig Config(string kind) => kind == "modadd"
        ? HostConfig.ModularAddition(23)
        : HostConfig.GptNeo(vocabSize: 50, contextLength: 16, modelDim: 32, headCount: 4, layerCount: 2, window: 3);

    [Theory]
    [MemberData(nameof(Hosts))]
    public void Find_OurExport_MatchesTheExportersResidualNamesAndTorchActivations(string kind)
    {
        var config = Config(kind);
        using var model = new HostTransformer(config, seed: 5);
        var path = Path.Combine(Fixtures.NewTempDir(), kind + ".onnx");
        OnnxExporter.Export(model, path);
        var graph = OnnxGraph.Load(path);
        var hooks = HookFinder.Find(graph);
        int layers = config.LayerCount;
        Assert.Equal(layers, hooks.Count(h => h.Kind == "resid_pre"));
        Assert.Equal(layers, hooks.Count(h => h.Kind == "resid_post"));
        if (kind == "gptneo")
            Assert.Equal(2 * layers + 1, HookFinder.LayerNormInputs(graph).Count);
        else
            Assert.Empty(HookFinder.LayerNormInputs(graph)); // norm-free: the chain runs from the embedding to the unembedding

        var sequences = kind == "modadd"
            ? new[] { new[] { 3, 5, 23 }, new[] { 22, 0, 23 }, new[] { 7, 7, 23 } }
            : new[] { new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, new[] { 10, 11, 12 }, new[] { 49, 0, 0, 1, 2 } };
        using var host = OnnxHost.Open(path, hooks, new OnnxHostOptions { IntraOpThreads = 1 });
        var rows = host.Run(sequences);
        for (int layer = 0; layer < layers; layer++)
        {
            foreach (var point in new[] { HostHooks.ResidPre(layer), HostHooks.ResidPost(layer) })
            {
                int h = hooks.ToList().FindIndex(x => x.Name == point);
                Assert.True(h >= 0, point);
                int offset = 0;
                foreach (var s in sequences)
                {
                    float[] expected = Array.Empty<float>();
                    // Copy inside the hook: the forward pass disposes its intermediates.
                    var torchHooks = new HostHooks().Replace(point, x => { expected = x.contiguous().data<float>().ToArray(); return x; });
                    using var ids = tensor(s.Select(i => (long)i).ToArray(), new long[] { 1, s.Length });
                    using (model.Forward(ids, torchHooks)) { }
                    for (int i = 0; i < expected.Length; i++)
                        Assert.True(Math.Abs(expected[i] - rows[h][offset + i]) < 1e-4f, $"{kind} {point}[{i}]: {rows[h][offset + i]} vs {expected[i]}");
                    offset += expected.Length;
                }
            }
        }
    }
}
