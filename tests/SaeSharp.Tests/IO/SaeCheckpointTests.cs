using SaeSharp.Testing;
using TorchSharp;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SaeSharp.IO;
using static TorchSharp.torch;

namespace SaeSharp.Tests.IO;

[Collection("Torch")]
public sealed class SaeCheckpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [MemberData(nameof(TestArchitectures.Names), MemberType = typeof(TestArchitectures))]
    public void SaeCheckpoint_SaveThenLoad_EncodesIdentically(string architecture)
    {
        using var sae = Sae.Create(new SaeConfig(6, 10, TestArchitectures.Create(architecture)), seed: 3);
        using (no_grad())
        {
            sae.DecoderBiasD.add_(0.3);
            sae.EncoderBiasL.add_(0.1);
        }
        if (sae is BatchTopKSae batch) batch.ThresholdL.fill_(0.05);
        SaeCheckpoint.Save(sae, _directory);
        using var loaded = SaeCheckpoint.Load(_directory);

        Assert.Equal(sae.Config.Architecture, loaded.Config.Architecture);
        using var x = randn(7, 6, generator: new Generator(4));
        sae.eval();
        using var expected = sae.Encode(x);
        using var actual = loaded.Encode(x);
        Assert.True(TestTensors.Identical(expected, actual));
    }

    [Fact]
    public void SaeCheckpoint_Save_FoldsActivationScaleSoRawInputsGiveScaledReconstruction()
    {
        const double scale = 2.5;
        using var sae = Sae.Create(new SaeConfig(6, 10, new TopKArchitecture(3)), seed: 5);
        using (no_grad()) sae.DecoderBiasD.add_(0.4);
        SaeCheckpoint.Save(sae, _directory, activationScale: scale);
        using var loaded = SaeCheckpoint.Load(_directory);

        using var raw = randn(7, 6, generator: new Generator(6));
        sae.eval();
        using var scaledRecon = sae.forward(raw.mul(scale)).ReconBD;
        using var rawRecon = loaded.forward(raw).ReconBD;
        Assert.True(rawRecon.mul(scale).allclose(scaledRecon, rtol: 1e-5, atol: 1e-5));
        using var norms = loaded.DecoderWeights.norm(1);
        Assert.True(norms.allclose(ones_like(norms), rtol: 1e-5, atol: 1e-5), "TopK decoder rows stay unit-norm after folding");
    }

    [Theory]
    [InlineData("topk", "topk", new[] { "W_enc", "W_dec", "b_enc", "b_dec" })]
    [InlineData("jumprelu", "jumprelu", new[] { "W_enc", "W_dec", "b_enc", "b_dec", "threshold" })]
    [InlineData("batchtopk", "jumprelu", new[] { "W_enc", "W_dec", "b_enc", "b_dec", "threshold" })]
    [InlineData("relu", "standard", new[] { "W_enc", "W_dec", "b_enc", "b_dec" })]
    public void SaeCheckpoint_Save_WritesWhatSaeLensExpects(string architecture, string saeLensArchitecture, string[] tensors)
    {
        using var sae = Sae.Create(new SaeConfig(6, 10, TestArchitectures.Create(architecture)), seed: 3);
        SaeCheckpoint.Save(sae, _directory, metadata: new Dictionary<string, object?> { ["model_name"] = "m", ["hook_name"] = "h" });

        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(_directory, "cfg.json")))!.AsObject();
        Assert.Equal(saeLensArchitecture, (string?)cfg["architecture"]);
        Assert.Equal(6, (int)cfg["d_in"]!);
        Assert.Equal(10, (int)cfg["d_sae"]!);
        Assert.Equal("none", (string?)cfg["normalize_activations"]);
        Assert.Matches(@"^6\.\d+\.\d+$", (string?)cfg["metadata"]!["sae_lens_version"]);
        Assert.Equal("h", (string?)cfg["metadata"]!["hook_name"]);
        if (architecture == "topk") Assert.Equal(3, (int)cfg["k"]!);

        // Independent read of the weights header: names, shapes, dtypes.
        var bytes = File.ReadAllBytes(Path.Combine(_directory, "sae_weights.safetensors"));
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, length));
        var names = header.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "__metadata__").OrderBy(n => n);
        Assert.Equal(tensors.OrderBy(n => n), names);
        foreach (var entry in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
            Assert.Equal("F32", entry.Value.GetProperty("dtype").GetString());
        Assert.Equal([6L, 10L], header.RootElement.GetProperty("W_enc").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([10L, 6L], header.RootElement.GetProperty("W_dec").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
    }

    [Fact]
    public void SaeCheckpoint_Load_FolderWrittenByHandInSaeLensLayout_Loads()
    {
        // As SAELens 5 wrote a TopK SAE: k under activation_fn_kwargs, extra keys we ignore.
        File.WriteAllText(Path.Combine(_directory, "cfg.json"), """
            {"architecture": "topk", "d_in": 2, "d_sae": 3, "dtype": "float32", "device": "cuda",
             "activation_fn_kwargs": {"k": 1}, "apply_b_dec_to_input": true, "normalize_activations": "none",
             "model_name": "gpt2", "hook_name": "blocks.0.hook_resid_pre", "context_size": 128}
            """);
        float[] wEnc = [1, 0, 0, 0, 1, 0]; // [2, 3]
        float[] wDec = [1, 0, 0, 1, 0.6f, 0.8f]; // [3, 2]
        float[] bEnc = [0, 0, 0];
        float[] bDec = [0.5f, -0.5f];
        WriteSafeTensorsByHand(Path.Combine(_directory, "sae_weights.safetensors"),
            [("W_enc", [2, 3], wEnc), ("W_dec", [3, 2], wDec), ("b_enc", [3], bEnc), ("b_dec", [2], bDec)]);

        using var sae = SaeCheckpoint.Load(_directory);
        Assert.Equal(new TopKArchitecture(1), sae.Config.Architecture);
        using var x = tensor(new float[] { 2.5f, 0.5f }).reshape(1, 2);
        using var z = sae.Encode(x);
        // x − b_dec = (2, 1): pre = (2, 1, 0); top-1 keeps latent 0 with 2.
        Assert.Equal(new float[] { 2, 0, 0 }, z.data<float>().ToArray());
    }

    [Fact]
    public void SaeCheckpoint_Load_ShapeMismatchWithCfg_NamesTensor()
    {
        using var sae = Sae.Create(new SaeConfig(6, 10, new TopKArchitecture(3)), seed: 3);
        SaeCheckpoint.Save(sae, _directory);
        var cfgPath = Path.Combine(_directory, "cfg.json");
        File.WriteAllText(cfgPath, File.ReadAllText(cfgPath).Replace("\"d_sae\": 10", "\"d_sae\": 11"));
        var error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal("W_enc", error.Field);
        Assert.EndsWith("sae_weights.safetensors", error.FilePath);
    }

    [Fact]
    public void SaeCheckpoint_Load_CfgClaimingTwoBillionLatents_IsRefusedBeforeAllocating()
    {
        // 6 × 2e9 float32 would be 48 GB: the shapes must be checked against the file before Sae.Create runs.
        using var sae = Sae.Create(new SaeConfig(6, 10, new TopKArchitecture(3)), seed: 3);
        SaeCheckpoint.Save(sae, _directory);
        var cfgPath = Path.Combine(_directory, "cfg.json");
        File.WriteAllText(cfgPath, File.ReadAllText(cfgPath).Replace("\"d_sae\": 10", "\"d_sae\": 2000000000"));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal("W_enc", error.Field);
        Assert.Contains("2000000000", error.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 100_000_000);
    }

    [Theory]
    [InlineData("W_enc", float.NaN)]
    [InlineData("W_dec", float.PositiveInfinity)]
    [InlineData("b_dec", float.NegativeInfinity)]
    public void SaeCheckpoint_Load_NonFiniteWeight_NamesFileAndTensor(string tensor, float value)
    {
        using var sae = Sae.Create(new SaeConfig(2, 3, new ReluArchitecture()), seed: 3);
        SaeCheckpoint.Save(sae, _directory);
        var weights = Path.Combine(_directory, "sae_weights.safetensors");
        var contents = SafeTensorsFile.Read(weights);
        var tensors = contents.Tensors.Values.Select(t => (t.Name, t.ToTensor())).ToList();
        using (no_grad())
        using (var bad = value.ToScalar())
            tensors.Single(t => t.Name == tensor).Item2.view(-1)[1].fill_(bad);
        SafeTensorsFile.Write(weights, tensors);
        var error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal(tensor, error.Field);
        Assert.Equal(weights, error.FilePath);
        Assert.Contains("1 NaN or infinite value", error.Message);
    }

    [Fact]
    public void SaeCheckpoint_Load_MissingCfgKey_NamesKey()
    {
        using var sae = Sae.Create(new SaeConfig(6, 10, new TopKArchitecture(3)), seed: 3);
        SaeCheckpoint.Save(sae, _directory);
        var cfgPath = Path.Combine(_directory, "cfg.json");
        var cfg = JsonNode.Parse(File.ReadAllText(cfgPath))!.AsObject();
        cfg.Remove("d_in");
        File.WriteAllText(cfgPath, cfg.ToJsonString());
        var error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal("d_in", error.Field);
        Assert.Equal(cfgPath, error.FilePath);
    }

    [Fact]
    public void SaeCheckpoint_Load_WrongDtype_NamesTensor()
    {
        File.WriteAllText(Path.Combine(_directory, "cfg.json"), """{"architecture": "standard", "d_in": 1, "d_sae": 1}""");
        using var w = ones(1, 1, dtype: ScalarType.Float64);
        using var b = ones(1, dtype: ScalarType.Float32);
        SafeTensorsFile.Write(Path.Combine(_directory, "sae_weights.safetensors"), [("W_enc", w), ("W_dec", w), ("b_enc", b), ("b_dec", b)]);
        var error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal("W_enc", error.Field);
        Assert.Contains("F64", error.Message);
    }

    [Fact]
    public void SaeCheckpoint_Load_ExtraTensor_IsRejected()
    {
        using var sae = Sae.Create(new SaeConfig(2, 3, new ReluArchitecture()), seed: 3);
        SaeCheckpoint.Save(sae, _directory);
        var weights = Path.Combine(_directory, "sae_weights.safetensors");
        var contents = SafeTensorsFile.Read(weights);
        var tensors = contents.Tensors.Values.Select(t => (t.Name, t.ToTensor())).Append(("threshold", ones(3))).ToList();
        SafeTensorsFile.Write(weights, tensors);
        var error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal("threshold", error.Field);
    }

    /// <summary>A folder of tests/fixtures/saelens (written by make_saelens_fixtures.py there, as SAELens 6 writes them).</summary>
    private static string SaeLensFixture(string name) => RepositoryPaths.Fixture("saelens", name);

    /// <summary>SAELens' TopK encode on the raw weights (saes/topk_sae.py:238-250 and TopK.forward, lines 60-116).</summary>
    private static Tensor SaeLensTopKEncode(string folder, Tensor xBD, int k, bool rescale)
    {
        var contents = SafeTensorsFile.Read(Path.Combine(folder, "sae_weights.safetensors"));
        var wEncDL = contents.Get("W_enc", folder).ToTensor();
        var wDecLD = contents.Get("W_dec", folder).ToTensor();
        var bEncL = contents.Get("b_enc", folder).ToTensor();
        var bDecD = contents.Get("b_dec", folder).ToTensor();
        var hiddenPreBL = xBD.sub(bDecD).matmul(wEncDL).add(bEncL);
        if (rescale) hiddenPreBL = hiddenPreBL.mul(wDecLD.norm(1));
        var (valuesBK, indicesBK) = hiddenPreBL.topk(k, dim: -1, sorted: false);
        return zeros_like(hiddenPreBL).scatter(-1, indicesBK, valuesBK.relu());
    }

    [Fact]
    public void SaeCheckpoint_Load_SaeLensTopKWithRescaleFlag_SelectsSaeLensLatents()
    {
        var folder = SaeLensFixture("topk_rescale");
        using var scope = NewDisposeScope();
        using var sae = SaeCheckpoint.Load(folder);
        Assert.Equal(new TopKArchitecture(2), sae.Config.Architecture);
        var xBD = randn(64, 4, generator: new Generator(7));
        var expectedBL = SaeLensTopKEncode(folder, xBD, 2, rescale: true);
        var actualBL = sae.Encode(xBD);
        Assert.True(actualBL.ne(0).eq(expectedBL.ne(0)).all().item<bool>(), "same latents selected as SAELens");
        Assert.True(actualBL.allclose(expectedBL, rtol: 1e-5, atol: 1e-6), "same latent values as SAELens' encode");
        // The flag matters on this fixture: ignoring it picks other latents.
        var ignoringBL = SaeLensTopKEncode(folder, xBD, 2, rescale: false);
        Assert.False(ignoringBL.ne(0).eq(expectedBL.ne(0)).all().item<bool>());
        // And the reconstruction is SAELens' decode (acts / ||W_dec|| @ W_dec + b_dec, topk_sae.py:262-266).
        var contents = SafeTensorsFile.Read(Path.Combine(folder, "sae_weights.safetensors"));
        var wDecLD = contents.Get("W_dec", folder).ToTensor();
        var reconBD = expectedBL.div(wDecLD.norm(1)).matmul(wDecLD).add(contents.Get("b_dec", folder).ToTensor());
        Assert.True(sae.forward(xBD).ReconBD.allclose(reconBD, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void SaeCheckpoint_Load_SaeLens5TopKSavedAsStandard_LoadsAsTopK()
    {
        var folder = SaeLensFixture("legacy_topk");
        using var scope = NewDisposeScope();
        using var sae = SaeCheckpoint.Load(folder);
        Assert.Equal(new TopKArchitecture(2), sae.Config.Architecture);
        var xBD = randn(64, 4, generator: new Generator(8));
        Assert.True(sae.Encode(xBD).allclose(SaeLensTopKEncode(folder, xBD, 2, rescale: false), rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [InlineData("standard")]
    [InlineData("jumprelu")]
    public void SaeCheckpoint_Load_SaeLens6Fixture_EncodesAsSaeLens(string name)
    {
        var folder = SaeLensFixture(name);
        using var scope = NewDisposeScope();
        using var sae = SaeCheckpoint.Load(folder);
        var contents = SafeTensorsFile.Read(Path.Combine(folder, "sae_weights.safetensors"));
        var xBD = randn(64, 4, generator: new Generator(9));
        var hiddenPreBL = xBD.sub(contents.Get("b_dec", folder).ToTensor()).matmul(contents.Get("W_enc", folder).ToTensor()).add(contents.Get("b_enc", folder).ToTensor());
        // StandardSAE: relu (standard_sae.py); JumpReLUSAE: relu(pre) * (pre > threshold) (jumprelu_sae.py:144-149).
        var expectedBL = name == "jumprelu"
            ? hiddenPreBL.relu().mul(hiddenPreBL.gt(contents.Get("threshold", folder).ToTensor()).to(ScalarType.Float32))
            : hiddenPreBL.relu();
        Assert.Equal(name == "jumprelu" ? typeof(JumpReluArchitecture) : typeof(ReluArchitecture), sae.Config.Architecture.GetType());
        Assert.True(sae.Encode(xBD).allclose(expectedBL, rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [InlineData("\"activation_fn\": \"tanh-relu\"", "activation_fn")]
    [InlineData("\"activation_fn_str\": \"topk\"", "activation_fn_str")]
    [InlineData("\"activation_fn\": 3", "activation_fn")]
    [InlineData("\"metadata\": [1]", "metadata")]
    [InlineData("\"metadata\": {\"context_size\": \"many\"}", "metadata.context_size")]
    [InlineData("\"metadata\": {\"prepend_bos\": 1}", "metadata.prepend_bos")]
    [InlineData("\"metadata\": {\"hook_name\": 5}", "metadata.hook_name")]
    [InlineData("\"apply_b_dec_to_input\": \"yes\"", "apply_b_dec_to_input")]
    [InlineData("\"rescale_acts_by_decoder_norm\": 1", "rescale_acts_by_decoder_norm")]
    [InlineData("\"d_in\": \"2\"", "d_in")]
    public void SaeCheckpoint_Load_BadCfgElement_NamesFileAndField(string entry, string field)
    {
        File.WriteAllText(Path.Combine(_directory, "cfg.json"), "{\"architecture\": \"standard\", \"d_sae\": 3, " + entry + (entry.StartsWith("\"d_in\"", StringComparison.Ordinal) ? "" : ", \"d_in\": 2") + "}");
        using (var w = zeros(2, 3)) using (var d = zeros(3, 2)) using (var b3 = zeros(3)) using (var b2 = zeros(2))
            SafeTensorsFile.Write(Path.Combine(_directory, "sae_weights.safetensors"), [("W_enc", w), ("W_dec", d), ("b_enc", b3), ("b_dec", b2)]);
        var error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal(field, error.Field);
        Assert.EndsWith("cfg.json", error.FilePath);
    }

    [Theory]
    [InlineData("\"activation_fn\": \"topk\"", "activation_fn")] // topk without activation_fn_kwargs.k
    [InlineData("\"activation_fn\": \"topk\", \"activation_fn_kwargs\": 2", "activation_fn_kwargs")]
    [InlineData("\"activation_fn\": \"topk\", \"activation_fn_str\": \"relu\"", "activation_fn")]
    public void SaeCheckpoint_Load_BadLegacyActivationFn_NamesField(string entry, string field)
    {
        File.WriteAllText(Path.Combine(_directory, "cfg.json"), "{\"architecture\": \"standard\", \"d_in\": 2, \"d_sae\": 3, " + entry + "}");
        using (var w = zeros(2, 3)) using (var d = zeros(3, 2)) using (var b3 = zeros(3)) using (var b2 = zeros(2))
            SafeTensorsFile.Write(Path.Combine(_directory, "sae_weights.safetensors"), [("W_enc", w), ("W_dec", d), ("b_enc", b3), ("b_dec", b2)]);
        Assert.Equal(field, Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory)).Field);
    }

    [Fact]
    public void SaeCheckpoint_Load_RescaleFlagWithZeroDecoderRow_NamesWDec()
    {
        File.WriteAllText(Path.Combine(_directory, "cfg.json"), """{"architecture": "topk", "d_in": 2, "d_sae": 3, "k": 1, "rescale_acts_by_decoder_norm": true}""");
        using (var w = ones(2, 3)) using (var d = ones(3, 2)) using (var b3 = zeros(3)) using (var b2 = zeros(2))
        {
            d[1].zero_();
            SafeTensorsFile.Write(Path.Combine(_directory, "sae_weights.safetensors"), [("W_enc", w), ("W_dec", d), ("b_enc", b3), ("b_dec", b2)]);
        }
        Assert.Equal("W_dec", Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory)).Field);
    }

    [Fact]
    public void SaeCheckpoint_Load_FoldedRescaledTopK_SavesWithFlagOffAndReloadsIdentically()
    {
        using var sae = SaeCheckpoint.Load(SaeLensFixture("topk_rescale"));
        SaeCheckpoint.Save(sae, _directory);
        Assert.False((bool)JsonNode.Parse(File.ReadAllText(Path.Combine(_directory, "cfg.json")))!["rescale_acts_by_decoder_norm"]!);
        using var again = SaeCheckpoint.Load(_directory);
        using var x = randn(16, 4, generator: new Generator(10));
        using var expected = sae.Encode(x);
        using var actual = again.Encode(x);
        Assert.True(TestTensors.Identical(expected, actual));
    }

    [Fact]
    public void SaeCheckpoint_Load_RepeatedKeyOrBadUtf8_IsRejected()
    {
        using var sae = Sae.Create(new SaeConfig(2, 3, new ReluArchitecture()), seed: 3);
        SaeCheckpoint.Save(sae, _directory);
        var cfgPath = Path.Combine(_directory, "cfg.json");
        var text = File.ReadAllText(cfgPath);
        File.WriteAllText(cfgPath, text.Replace("\"d_sae\": 3", "\"d_sae\": 3, \"d_sae\": 4"));
        var error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal(cfgPath, error.FilePath);
        // Invalid UTF-8 (0xC3 0x28) in a string SaeSharp does not read: File.ReadAllText would have accepted it as U+FFFD.
        var bytes = Encoding.UTF8.GetBytes(text.TrimEnd().TrimEnd('}') + ", \"note\": \"X\"}");
        bytes[Array.LastIndexOf(bytes, (byte)'X')] = 0xC3;
        File.WriteAllBytes(cfgPath, bytes);
        error = Assert.Throws<SaeSharpException>(() => SaeCheckpoint.Load(_directory));
        Assert.Equal(cfgPath, error.FilePath);
    }

    [Fact]
    public void SaeCheckpoint_Save_WritesTypedSaeLensMetadataAndTransformerLensHookName()
    {
        using var sae = Sae.Create(new SaeConfig(6, 10, new TopKArchitecture(3)), seed: 3);
        SaeCheckpoint.Save(sae, _directory, metadata: new Dictionary<string, object?>
        {
            ["model_name"] = "m", ["hook_name"] = "resid_post.2", ["context_size"] = "128", ["prepend_bos"] = "True",
        });
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(_directory, "cfg.json")))!["metadata"]!;
        Assert.Equal(JsonValueKind.Number, meta["context_size"]!.GetValueKind());
        Assert.Equal(128, (int)meta["context_size"]!);
        Assert.Equal(JsonValueKind.True, meta["prepend_bos"]!.GetValueKind());
        Assert.Equal("blocks.2.hook_resid_post", (string?)meta["hook_name"]);
        Assert.Equal("resid_post.2", (string?)meta[SaeCheckpoint.SaeSharpHookNameKey]);
        using var loaded = SaeCheckpoint.Load(_directory);
        Assert.Equal(sae.Config, loaded.Config);
    }

    [Theory]
    [InlineData("resid_pre.0", "blocks.0.hook_resid_pre")]
    [InlineData("resid_mid.11", "blocks.11.hook_resid_mid")]
    [InlineData("resid_post.3", "blocks.3.hook_resid_post")]
    [InlineData("/h.0/attn/Add_output_0", null)]
    public void SaeCheckpoint_TransformerLensHookName_MapsResidualPoints(string ours, string? lens) =>
        Assert.Equal(lens, SaeCheckpoint.TransformerLensHookName(ours));

    [Fact]
    public void SaeCheckpoint_Load_OldStringMetadata_Loads()
    {
        using var sae = Sae.Create(new SaeConfig(2, 3, new ReluArchitecture()), seed: 3);
        SaeCheckpoint.Save(sae, _directory);
        var cfgPath = Path.Combine(_directory, "cfg.json");
        var cfg = JsonNode.Parse(File.ReadAllText(cfgPath))!.AsObject();
        cfg["metadata"]!["context_size"] = "3";
        cfg["metadata"]!["prepend_bos"] = "false";
        cfg["metadata"]!["hook_name"] = "resid_post.0";
        File.WriteAllText(cfgPath, cfg.ToJsonString());
        using var loaded = SaeCheckpoint.Load(_directory);
        Assert.Equal(sae.Config, loaded.Config);
    }

    private static void WriteSafeTensorsByHand(string path, (string Name, long[] Shape, float[] Data)[] tensors)
    {
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, shape, data) in tensors)
        {
            if (header.Length > 1) header.Append(',');
            header.Append($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + data.Length * 4}]}}");
            offset += data.Length * 4;
        }
        header.Append('}');
        var headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        var buffer = new byte[4];
        foreach (var (_, _, data) in tensors)
            foreach (var value in data)
            {
                BinaryPrimitives.WriteSingleLittleEndian(buffer, value);
                stream.Write(buffer);
            }
    }
}
