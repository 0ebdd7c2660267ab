using System.Text;
using SaeSharp.Testing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Tests;

/// <summary>
/// Crosscoder folders with mutated <c>cfg.json</c>, weights and training state (seeds: the folders in
/// tests/fixtures/legacy-checkpoints): each loads or throws <see cref="SaeSharpException"/>.
/// </summary>
[Collection("Torch")]
public sealed class CrosscoderFuzzTests : IDisposable
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-fuzz-crosscoder-").FullName;

    private readonly ITestOutputHelper _output;

    public CrosscoderFuzzTests(ITestOutputHelper output)
    {
        _output = output;
        foreach (var file in Directory.GetFiles(Stopped("crosscoder-batchtopk")))
            File.Copy(file, Path.Combine(_directory, Path.GetFileName(file)));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Stopped(string run) => Path.Combine(LegacyRuns.Fixture(run), "stopped");

    private static byte[] Seed(string run, string file) => File.ReadAllBytes(Path.Combine(Stopped(run), file));

    private string PathOf(string file) => Path.Combine(_directory, file);

    [Fact]
    public void CrosscoderCheckpoint_Load_MutatedConfigs_LoadOrThrowSaeSharpException()
    {
        var weights = File.ReadAllBytes(PathOf(CrosscoderCheckpoint.WeightsFileName));
        Fuzz.Run([Seed("crosscoder-batchtopk", "cfg.json"), Seed("crosscoder-l1", "cfg.json")], 800, bytes =>
        {
            File.WriteAllBytes(PathOf(CrosscoderCheckpoint.ConfigFileName), bytes);
            CrosscoderCheckpoint.Load(_directory).Dispose();
        }, Budget, log: _output.WriteLine);
        Assert.NotEmpty(weights);
    }

    [Fact]
    public void CrosscoderCheckpoint_Load_MutatedWeights_LoadOrThrowSaeSharpException() =>
        Fuzz.Run([Seed("crosscoder-batchtopk", CrosscoderCheckpoint.WeightsFileName)], 500, bytes =>
        {
            File.WriteAllBytes(PathOf(CrosscoderCheckpoint.WeightsFileName), bytes);
            CrosscoderCheckpoint.Load(_directory).Dispose();
        }, Budget, Fuzz.MutateSafeTensors, log: _output.WriteLine);

    [Fact]
    public void CrosscoderTrainer_Resume_MutatedTrainingStates_ResumeOrThrowSaeSharpException()
    {
        using var rng = get_rng_state();
        Fuzz.Run([Seed("crosscoder-batchtopk", "training_state.safetensors"), Seed("crosscoder-l1", "training_state.safetensors")], 600, bytes =>
        {
            File.WriteAllBytes(PathOf("training_state.safetensors"), bytes);
            CrosscoderTrainer.Resume(_directory).Dispose();
        }, TimeSpan.FromSeconds(4), Fuzz.MutateSafeTensors, log: _output.WriteLine);
        set_rng_state(rng);
    }

    private SaeSharpException LoadFails(string cfg)
    {
        File.WriteAllText(PathOf(CrosscoderCheckpoint.ConfigFileName), cfg);
        var e = Assert.Throws<SaeSharpException>(() => CrosscoderCheckpoint.Load(_directory).Dispose());
        Assert.Equal(PathOf(CrosscoderCheckpoint.ConfigFileName), e.FilePath);
        return e;
    }

    private static string Cfg => Encoding.UTF8.GetString(Seed("crosscoder-batchtopk", "cfg.json"));

    [Theory]
    [InlineData("0")]                  // the string enum converter reads numbers: 0 was L1
    [InlineData("\"L1, BatchTopK\"")]  // and comma lists
    [InlineData("\"l1\"")]
    public void CrosscoderCheckpoint_Load_SparsityNotAnExactName_Throws(string sparsity)
    {
        Assert.Contains("\"sparsity\": \"BatchTopK\"", Cfg, StringComparison.Ordinal);
        var e = LoadFails(Cfg.Replace("\"sparsity\": \"BatchTopK\"", "\"sparsity\": " + sparsity, StringComparison.Ordinal));
        Assert.Equal("crosscoder.sparsity", e.Field);
    }

    [Fact]
    public void CrosscoderCheckpoint_Load_RepeatedKey_Throws() =>
        LoadFails(Cfg.Replace("\"step\": 10", "\"step\": 10, \"step\": 11", StringComparison.Ordinal));

    [Fact]
    public void CrosscoderCheckpoint_Load_InvalidUtf8_Throws()
    {
        var bytes = Encoding.UTF8.GetBytes(Cfg.Replace("\"A\"", "\"A?\"", StringComparison.Ordinal));
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xFF;
        File.WriteAllBytes(PathOf(CrosscoderCheckpoint.ConfigFileName), bytes);
        var e = Assert.Throws<SaeSharpException>(() => CrosscoderCheckpoint.Load(_directory).Dispose());
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"step\": 10", "\"step\": -1", "step")]
    [InlineData("\"crosscoder\": {", "\"crosscoder\": null, \"x\": {", "crosscoder")]
    public void CrosscoderCheckpoint_Load_BadField_Throws(string from, string to, string field) =>
        Assert.Equal(field, LoadFails(Cfg.Replace(from, to, StringComparison.Ordinal)).Field);

    [Fact]
    public void CrosscoderCheckpoint_Load_ConfigLargerThanWeights_ThrowsBeforeAllocating()
    {
        // A d_sae of 2e9 was allocated (8 GB per source) before the weights were compared with it.
        File.WriteAllText(PathOf(CrosscoderCheckpoint.ConfigFileName), Cfg.Replace("\"d_sae\": 32", "\"d_sae\": 2000000000", StringComparison.Ordinal));
        var e = Assert.Throws<SaeSharpException>(() => CrosscoderCheckpoint.Load(_directory).Dispose());
        Assert.Equal((PathOf(CrosscoderCheckpoint.WeightsFileName), "W_enc"), (e.FilePath, e.Field));
    }
}
