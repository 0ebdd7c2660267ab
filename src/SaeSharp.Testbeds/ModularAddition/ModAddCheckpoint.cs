using System.Globalization;
using System.Text;
using System.Text.Json;
using SaeSharp.Hosts;
using SaeSharp.IO;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// Where host training stands, so that a crash or Ctrl+C continues rather than starting from zero: the weights,
/// AdamW's state, the step, the stop counter, the log and the weight snapshots, in <c>FOLDER/resume</c>.
/// </summary>
/// <remarks>
/// Written into <c>resume.tmp</c> (optimizer state, then the state file), then swapped in by two renames
/// (<c>resume</c> → <c>resume.old</c>, <c>resume.tmp</c> → <c>resume</c>); a kill between them leaves
/// <c>resume.old</c>, which is read instead. <c>resume.tmp</c> is never trusted.
/// </remarks>
internal static class ModAddCheckpoint
{
    private const string FolderName = "resume";
    private const string StateFileName = "state.safetensors";
    private const string OptimizerFileName = "optimizer.bin";

    /// <summary>What a checkpoint restores besides the model and optimizer.</summary>
    public sealed record Progress(int Step, int AboveThreshold, List<ModAddLogEntry> Log, List<(int Step, Dictionary<string, Tensor> Weights)> Snapshots);

    public static void Save(string folder, ModAddConfig config, HostTransformer model, OptimizerHelper optimizer, Progress progress)
    {
        var final = Path.Combine(folder, FolderName);
        var staging = final + ".tmp";
        var old = final + ".old";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        optimizer.save_state_dict(Path.Combine(staging, OptimizerFileName));
        var tensors = new List<(string, Tensor)>();
        tensors.AddRange(model.NamedWeights().Select(w => ("model." + w.Name, w.Tensor)));
        foreach (var (step, weights) in progress.Snapshots)
            tensors.AddRange(weights.Select(w => (string.Create(CultureInfo.InvariantCulture, $"snapshot.{step}.{w.Key}"), w.Value)));
        var log = new StringBuilder();
        foreach (var entry in progress.Log) log.Append(JsonSerializer.Serialize(entry, ModAddJsonContext.Default.ModAddLogEntry)).Append('\n');
        var metadata = new Dictionary<string, string>
        {
            ["config"] = JsonSerializer.Serialize(config, ModAddJsonContext.Default.ModAddConfig),
            ["step"] = progress.Step.ToString(CultureInfo.InvariantCulture),
            ["above_threshold"] = progress.AboveThreshold.ToString(CultureInfo.InvariantCulture),
            ["log"] = log.ToString(),
        };
        SafeTensorsFile.Write(Path.Combine(staging, StateFileName), tensors, metadata);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        if (Directory.Exists(final)) Directory.Move(final, old);
        Directory.Move(staging, final);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
    }

    /// <summary>Restores the last checkpoint of a run of <paramref name="config"/> into <paramref name="model"/> and <paramref name="optimizer"/>; null when there is none for this config.</summary>
    /// <exception cref="SaeSharpException">A checkpoint of this config is there but malformed.</exception>
    public static Progress? TryLoad(string folder, ModAddConfig config, HostTransformer model, OptimizerHelper optimizer)
    {
        var directory = Path.Combine(folder, FolderName);
        if (!File.Exists(Path.Combine(directory, StateFileName))) directory += ".old";
        var statePath = Path.Combine(directory, StateFileName);
        if (!File.Exists(statePath)) return null;
        var contents = SafeTensorsFile.Read(statePath);
        if (!contents.Metadata.TryGetValue("config", out var recorded)
            || recorded != JsonSerializer.Serialize(config, ModAddJsonContext.Default.ModAddConfig))
            return null;
        int Int(string key) =>
            contents.Metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value : throw new SaeSharpException("missing or not a non-negative integer", statePath, key);
        int step = Int("step"), above = Int("above_threshold");
        var log = new List<ModAddLogEntry>();
        foreach (var line in (contents.Metadata.GetValueOrDefault("log") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                log.Add(JsonSerializer.Deserialize(line, ModAddJsonContext.Default.ModAddLogEntry) ?? throw new SaeSharpException("log entry is null", statePath, "log"));
            }
            catch (JsonException e)
            {
                throw new SaeSharpException($"log entry is not valid JSON: {e.Message}", statePath, "log", e);
            }
        }
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var snapshots = new SortedDictionary<int, Dictionary<string, Tensor>>();
        try
        {
            foreach (var (name, tensor) in contents.Tensors)
            {
                if (name.StartsWith("model.", StringComparison.Ordinal))
                {
                    weights[name["model.".Length..]] = tensor.ToTensor();
                    continue;
                }
                var parts = name.Split('.', 3);
                if (parts.Length != 3 || parts[0] != "snapshot" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var at))
                    throw new SaeSharpException("unexpected tensor", statePath, name);
                if (!snapshots.TryGetValue(at, out var snapshot)) snapshots[at] = snapshot = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                snapshot[parts[2]] = tensor.ToTensor();
            }
            model.LoadWeights(weights, statePath);
        }
        catch
        {
            foreach (var t in snapshots.Values.SelectMany(s => s.Values)) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
        optimizer.load_state_dict(Path.Combine(directory, OptimizerFileName));
        return new Progress(step, above, log, snapshots.Select(kv => (kv.Key, kv.Value)).ToList());
    }

    /// <summary>Removes the checkpoint once its run is saved whole.</summary>
    public static void Delete(string folder)
    {
        foreach (var suffix in new[] { "", ".tmp", ".old" })
        {
            var directory = Path.Combine(folder, FolderName + suffix);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }
}
