using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using SaeSharp.IO;
using SaeSharp.Testing;
using SaeSharp.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training;

/// <summary>Resuming from malformed training states: one <see cref="SaeSharpException"/>, never a native crash.</summary>
[Collection("Torch")]
public sealed class TrainingStateFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-fuzz-state-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string StatePath => Path.Combine(_directory, TrainingState.FileName);

    private async Task<byte[]> TrainSeedAsync()
    {
        var saeConfig = new SaeConfig(8, 16, new TopKArchitecture(2));
        var trainConfig = new TrainConfig { Steps = 3, BatchSize = 16, Seed = 3, LogEvery = 1, CheckpointEvery = 0, InitSampleRows = 32 };
        using var source = new SyntheticActivationSource(new SyntheticSourceConfig(8, 16, 2) { Seed = 4 });
        using var trainer = new SaeTrainer(saeConfig, trainConfig, new TrainerOptions { OutputDirectory = _directory });
        await trainer.TrainAsync(source);
        return File.ReadAllBytes(StatePath);
    }

    /// <summary>Rewrites the state file with its tensors and metadata changed by <paramref name="change"/>.</summary>
    private void Rewrite(Action<Dictionary<string, Tensor>, Dictionary<string, string>> change)
    {
        var contents = SafeTensorsFile.Read(StatePath);
        var tensors = contents.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToTensor());
        var metadata = contents.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        change(tensors, metadata);
        SafeTensorsFile.Write(StatePath, tensors.Select(kv => (kv.Key, kv.Value)).ToList(), metadata);
        foreach (var t in tensors.Values) t.Dispose();
    }

    private SaeSharpException ResumeFails()
    {
        var e = Assert.Throws<SaeSharpException>(() => SaeTrainer.Resume(_directory).Dispose());
        Assert.Equal(StatePath, e.FilePath);
        return e;
    }

    [Fact]
    public async Task SaeTrainer_Resume_MutatedTrainingStates_ResumeOrThrowSaeSharpException()
    {
        var seed = await TrainSeedAsync();
        using var rng = get_rng_state();
        int run = Fuzz.Run([seed], 600, bytes =>
        {
            File.WriteAllBytes(StatePath, bytes);
            SaeTrainer.Resume(_directory).Dispose();
        }, TimeSpan.FromSeconds(5), (file, random) => random.Next(3) == 0 ? MutateEmbeddedJson(file, random) : Fuzz.MutateSafeTensors(file, random), log: output.WriteLine);
        set_rng_state(rng);
        Assert.True(run > 50, $"only {run} cases ran");
    }

    /// <summary>Mutates one of the JSON documents the state carries as metadata strings (train_config, sae_config).</summary>
    private static byte[] MutateEmbeddedJson(byte[] file, Random random)
    {
        int length = (int)BitConverter.ToUInt64(file, 0);
        var header = JsonNode.Parse(file.AsSpan(8, length))!.AsObject();
        var metadata = header["__metadata__"]!.AsObject();
        var keys = metadata.Select(kv => kv.Key).ToArray();
        var key = keys[random.Next(keys.Length)];
        var value = Encoding.UTF8.GetBytes(metadata[key]!.GetValue<string>());
        metadata[key] = Encoding.UTF8.GetString(Fuzz.Mutate(value, random));
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var result = new byte[8 + json.Length + file.Length - 8 - length];
        BitConverter.GetBytes((ulong)json.Length).CopyTo(result, 0);
        json.CopyTo(result, 8);
        file.AsSpan(8 + length).CopyTo(result.AsSpan(8 + json.Length));
        return result;
    }

    [Fact]
    public async Task SaeTrainer_Resume_RngStateOfWrongSize_Throws()
    {
        // torch.set_rng_state with such a tensor threw a C++ exception that ended the process.
        await TrainSeedAsync();
        Rewrite((t, _) => { t["rng.torch_cpu"].Dispose(); t["rng.torch_cpu"] = zeros([100], ScalarType.Byte); });
        Assert.Contains("rng.torch_cpu", ResumeFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SaeTrainer_Resume_RngStateOfWrongDtype_Throws()
    {
        await TrainSeedAsync();
        Rewrite((t, _) => { var old = t["rng.torch_cpu"]; t["rng.torch_cpu"] = old.to_type(ScalarType.Int16); old.Dispose(); });
        Assert.Contains("rng.torch_cpu", ResumeFails().Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8, 0)]    // left = 0
    [InlineData(8, 625)]  // left past the 624-word state
    [InlineData(12, 0)]   // not seeded
    [InlineData(16, 999)] // next past the state
    public async Task SaeTrainer_Resume_RngStateOutOfRange_Throws(int offset, int value)
    {
        // The right size but a position libtorch's mt19937 refuses: also a C++ exception that ended the process.
        await TrainSeedAsync();
        Rewrite((t, _) =>
        {
            var bytes = t["rng.torch_cpu"].data<byte>().ToArray();
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), value);
            t["rng.torch_cpu"].Dispose();
            t["rng.torch_cpu"] = tensor(bytes, ScalarType.Byte);
        });
        Assert.Contains("Mersenne", ResumeFails().Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("step", "-1")]
    [InlineData("source_position", "-5")]
    public async Task SaeTrainer_Resume_NegativeCounter_Throws(string key, string value)
    {
        await TrainSeedAsync();
        Rewrite((_, m) => m[key] = value);
        Assert.Equal(key, ResumeFails().Field);
    }

    [Theory]
    [InlineData("sae_config")]
    [InlineData("train_config")]
    public async Task SaeTrainer_Resume_NullConfig_Throws(string key)
    {
        await TrainSeedAsync();
        Rewrite((_, m) => m[key] = "null");
        Assert.Equal(key, ResumeFails().Field);
    }

    [Fact]
    public async Task SaeTrainer_Resume_ConfigWithRepeatedKey_Throws()
    {
        // Found by the fuzzer: JsonNode.Parse kept both keys and the JsonObject threw ArgumentException ("An item with
        // the same key has already been added") when TrainConfigReader looked a key up.
        await TrainSeedAsync();
        Rewrite((_, m) => m["train_config"] = "{\"steps\": 3, " + m["train_config"][1..]);
        Assert.Equal("train_config", ResumeFails().Field);
    }

    [Fact]
    public async Task SaeTrainer_Resume_ParameterOfWrongDtype_Throws()
    {
        await TrainSeedAsync();
        string name = "";
        Rewrite((t, _) =>
        {
            name = t.Keys.First(k => !k.StartsWith("adam.", StringComparison.Ordinal) && !k.StartsWith("rng.", StringComparison.Ordinal) && t[k].dtype == ScalarType.Float32);
            var old = t[name];
            t[name] = old.to_type(ScalarType.Float64);
            old.Dispose();
        });
        var e = ResumeFails();
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        Assert.Contains("dtype", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SaeTrainer_Resume_OptimizerMomentOfWrongDtype_Throws()
    {
        await TrainSeedAsync();
        Rewrite((t, _) =>
        {
            var name = t.Keys.First(k => k.StartsWith("adam.m.", StringComparison.Ordinal));
            var old = t[name];
            t[name] = old.to_type(ScalarType.Int32);
            old.Dispose();
        });
        Assert.Contains("adam.m.", ResumeFails().Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new long[] { 1, 2 })]
    [InlineData(new long[] { -4 })]
    public async Task SaeTrainer_Resume_BadAdamStep_Throws(long[] values)
    {
        // item<long>() of a two-element tensor threw TorchSharp's own exception; a negative count was accepted.
        await TrainSeedAsync();
        Rewrite((t, _) => { t["adam.step"].Dispose(); t["adam.step"] = values.Length == 1 ? tensor(values[0]) : tensor(values); });
        Assert.Contains("adam.step", ResumeFails().Message, StringComparison.Ordinal);
    }
}
