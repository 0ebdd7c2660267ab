using Microsoft.ML.OnnxRuntime;
using SaeSharp.Hosts;
using SaeSharp.Testbeds.ModularAddition;
using static TorchSharp.torch;

namespace SaeSharp.Cli.Tests;

public sealed class HostCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-cli-host-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void TrainModAdd_ThenExport_OnnxRuntimePredictsLikeTorchOnAllPairs()
    {
        const int p = 13;
        var model = Path.Combine(_directory, "modadd");
        var train = CliRunner.Run("host", "train-modadd", "--p", $"{p}", "--max-steps", "40", "--seed", "2", "--out", model, "--json");
        Assert.True(train.ExitCode == 0, train.StdErr);
        var json = train.Json;
        Assert.Equal(p, json.GetProperty("p").GetInt32());
        Assert.Equal(40, json.GetProperty("steps").GetInt32());
        Assert.InRange(json.GetProperty("train_acc").GetDouble(), 0, 1);
        Assert.InRange(json.GetProperty("test_acc").GetDouble(), 0, 1);
        Assert.True(json.GetProperty("key_frequencies").GetArrayLength() >= 1);
        Assert.False(json.GetProperty("from_cache").GetBoolean());
        foreach (var file in new[] { "host.json", "model.safetensors", "modadd.json", "training_log.jsonl" })
            Assert.True(File.Exists(Path.Combine(model, file)), file);

        var again = CliRunner.Run("host", "train-modadd", "--p", $"{p}", "--max-steps", "40", "--seed", "2", "--out", model, "--json");
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.True(again.Json.GetProperty("from_cache").GetBoolean());
        Assert.Equal(json.GetProperty("test_acc").GetDouble(), again.Json.GetProperty("test_acc").GetDouble());

        var onnx = Path.Combine(_directory, "model.onnx");
        var export = CliRunner.Run("host", "export", "--model", model, "--out", onnx, "--json");
        Assert.True(export.ExitCode == 0, export.StdErr);
        Assert.Equal(17, export.Json.GetProperty("opset").GetInt32());

        // ONNX Runtime on the exported file against TorchSharp on the saved folder: same answer for every pair.
        using var host = HostTransformer.LoadFolder(model);
        using var inputs = ModAddTask.AllInputs(p);
        using var torchLogits = host.forward(inputs);
        using var session = new InferenceSession(onnx);
        using var input = OrtValue.CreateTensorValueFromMemory(inputs.data<long>().ToArray(), inputs.shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input_ids"], [input], ["logits"]);
        using var ortLogits = tensor(outputs[0].GetTensorDataAsSpan<float>().ToArray(), torchLogits.shape);
        Assert.True(ortLogits.select(1, 2).argmax(1).equal(torchLogits.select(1, 2).argmax(1)).all().item<bool>());
        Assert.True(ortLogits.allclose(torchLogits, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void Export_ExistingOutput_NeedsForce()
    {
        var model = Path.Combine(_directory, "tiny");
        using (var host = new HostTransformer(HostConfig.ModularAddition(5), seed: 1))
            host.SaveFolder(model);
        var onnx = Path.Combine(_directory, "tiny.onnx");
        Assert.Equal(0, CliRunner.Run("host", "export", "--model", model, "--out", onnx).ExitCode);
        var refused = CliRunner.Run("host", "export", "--model", model, "--out", onnx);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--force", refused.StdErr);
        Assert.Equal(0, CliRunner.Run("host", "export", "--model", model, "--out", onnx, "--force").ExitCode);
    }

    [Fact]
    public void Export_MissingModelFolder_IsAnErrorNamingTheFile()
    {
        var missing = Path.Combine(_directory, "nope");
        var result = CliRunner.Run("host", "export", "--model", missing, "--out", Path.Combine(_directory, "x.onnx"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error:", result.StdErr);
        Assert.Contains("host.json", result.StdErr);
    }

    [Fact]
    public void TrainModAdd_NonPrime_IsRefused()
    {
        var result = CliRunner.Run("host", "train-modadd", "--p", "100", "--out", Path.Combine(_directory, "x"), "--json");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("prime", result.StdErr);
    }

    [Fact]
    public void TrainStories_TinyRun_ReportsLossesAndReusesTheFolder()
    {
        // Two steps of the real recipe: a weak host, but every stage runs (generation, training, evaluation, export, ONNX check).
        var folder = Path.Combine(_directory, "stories");
        var first = CliRunner.Run("host", "train-stories", "--steps", "2", "--stories", "16", "--threads", "1", "--out", folder, "--json");
        Assert.True(first.ExitCode == 0, first.StdErr);
        var json = first.Json;
        double valLoss = json.GetProperty("val_loss").GetDouble();
        Assert.InRange(valLoss, 0.5, 12);
        Assert.True(Math.Abs(json.GetProperty("onnx_val_loss").GetDouble() - valLoss) < 1e-3);
        Assert.InRange(json.GetProperty("consistency_accuracy").GetDouble(), 0, 1);
        Assert.Equal(3, json.GetProperty("consistency_by_kind").EnumerateObject().Count());
        Assert.Equal(2, json.GetProperty("train_steps").GetInt32());
        Assert.True(json.GetProperty("train_tokens").GetInt64() > 0);
        Assert.False(json.GetProperty("from_cache").GetBoolean());
        Assert.True(File.Exists(json.GetProperty("onnx_path").GetString()));
        Assert.True(File.Exists(json.GetProperty("held_out_path").GetString()));

        var again = CliRunner.Run("host", "train-stories", "--steps", "2", "--stories", "16", "--out", folder, "--json");
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.True(again.Json.GetProperty("from_cache").GetBoolean());
        Assert.Equal(valLoss, again.Json.GetProperty("val_loss").GetDouble());

        // Another recipe into the same folder: refused, naming --force.
        var refused = CliRunner.Run("host", "train-stories", "--steps", "3", "--stories", "16", "--out", folder, "--json");
        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith("error:", refused.StdErr.Trim());
        Assert.Contains("--force", refused.StdErr);
    }

    [Fact]
    public void TrainStories_BadSteps_OneErrorLine()
    {
        var result = CliRunner.Run("host", "train-stories", "--steps", "0", "--out", Path.Combine(_directory, "x"), "--json");
        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.StdErr.Trim().Split('\n'));
        Assert.Contains("--steps", result.StdErr);
        Assert.False(Directory.Exists(Path.Combine(_directory, "x")));
    }
}
