using SaeSharp.IO;
using System.Text;
using System.Text.Json;
using SaeSharp.Hosts;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// A folder that keeps a trained modular-addition host so it is trained once: the host folder
/// (<c>host.json</c>, <c>model.safetensors</c>), <c>modadd.json</c> (settings and outcome) and
/// <c>training_log.jsonl</c> (one <see cref="ModAddLogEntry"/> per line). <c>modadd.json</c> is written last,
/// so a folder without it (a killed write) is not used.
/// </summary>
public static class ModAddCache
{
    /// <summary>The summary file's name; its presence marks a complete cache entry.</summary>
    public const string SummaryFileName = "modadd.json";

    /// <summary>The training log's file name.</summary>
    public const string LogFileName = "training_log.jsonl";

    /// <summary>
    /// The name of a run's entry in a cache folder: <c>modadd-p{P}-seed{S}</c>, with a suffix (a hash of the settings)
    /// when settings other than p and the seed differ from the defaults.
    /// </summary>
    public static string EntryName(ModAddConfig config)
    {
        var name = $"modadd-p{config.P}-seed{config.Seed}";
        var defaults = new ModAddConfig(P: config.P, Seed: config.Seed);
        if (config != defaults)
        {
            var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(config, ModAddJsonContext.Default.ModAddConfig)));
            name += "-" + Convert.ToHexStringLower(hash)[..12];
        }
        return name;
    }

    /// <summary>The folder of a run's entry in <paramref name="cacheFolder"/> (a folder holding many entries): <c>cacheFolder/</c><see cref="EntryName"/>.</summary>
    /// <exception cref="SaeSharpException"><paramref name="cacheFolder"/> is empty.</exception>
    public static string EntryFolder(string cacheFolder, ModAddConfig config)
    {
        if (string.IsNullOrWhiteSpace(cacheFolder))
            throw new SaeSharpException("is empty; pass the folder that holds cached hosts", field: nameof(cacheFolder));
        return Path.Combine(cacheFolder, EntryName(config));
    }

    /// <summary>
    /// Loads the host from <paramref name="folder"/> when it holds a complete entry trained with exactly
    /// <paramref name="config"/>; otherwise (or with <paramref name="retrain"/>) trains and saves it there, continuing
    /// from the checkpoint a stopped training left in the folder (<paramref name="retrain"/> discards it).
    /// </summary>
    /// <exception cref="SaeSharpException">The configuration is invalid, training failed, or a cached file is corrupt.</exception>
    public static ModAddResult LoadOrTrain(ModAddConfig config, string folder, bool retrain = false,
        IProgress<ModAddLogEntry>? progress = null, CancellationToken cancellationToken = default)
    {
        config.Validate();
        if (!retrain && TryLoad(config, folder) is { } cached) return cached;
        // Training checkpoints into the entry's folder, so a crash or Ctrl+C continues where it stopped; retrain starts over.
        if (retrain) ModAddCheckpoint.Delete(folder);
        var result = ModAddTrainer.Train(config, progress, folder, cancellationToken);
        Save(result, folder);
        ModAddCheckpoint.Delete(folder);
        return result;
    }

    /// <summary>Writes a result into <paramref name="folder"/> (each file atomically, the summary last).</summary>
    public static void Save(ModAddResult result, string folder)
    {
        Directory.CreateDirectory(folder);
        var summaryPath = Path.Combine(folder, SummaryFileName);
        if (File.Exists(summaryPath)) File.Delete(summaryPath);
        result.Model.SaveFolder(folder);
        var log = new StringBuilder();
        foreach (var entry in result.Log) log.Append(JsonSerializer.Serialize(entry, ModAddJsonContext.Default.ModAddLogEntry)).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(folder, LogFileName), log.ToString());
        var summary = new ModAddSummary(result.Config, result.Steps, result.StepsToMemorize, result.StepsToGeneralize,
            result.TrainAccuracy, result.TestAccuracy, result.TrainingTime.TotalSeconds, result.TrainingCpuTime.TotalSeconds);
        AtomicFile.WriteAllText(summaryPath, JsonSerializer.Serialize(summary, ModAddJsonContext.Default.ModAddSummary));
    }

    /// <summary>The cached result in <paramref name="folder"/> if it is complete and was trained with <paramref name="config"/>; otherwise null.</summary>
    /// <exception cref="SaeSharpException">The entry is complete but a file in it is corrupt.</exception>
    public static ModAddResult? TryLoad(ModAddConfig config, string folder)
    {
        var summaryPath = Path.Combine(folder, SummaryFileName);
        if (!File.Exists(summaryPath)) return null;
        ModAddSummary? summary;
        try
        {
            summary = JsonSerializer.Deserialize(File.ReadAllText(summaryPath), ModAddJsonContext.Default.ModAddSummary);
        }
        catch (JsonException)
        {
            return null;
        }
        if (summary is null || summary.Config != config) return null;

        var model = HostTransformer.LoadFolder(folder);
        try
        {
            if (!model.Config.Equals(config.Host))
                throw new SaeSharpException("host configuration does not match the modular-addition task's", Path.Combine(folder, HostTransformer.ConfigFileName));
            var log = ReadLog(Path.Combine(folder, LogFileName));
            return new ModAddResult(model, config, log, summary.Steps, summary.StepsToMemorize, summary.StepsToGeneralize,
                summary.TrainAccuracy, summary.TestAccuracy, ModAddTrainer.KeyFrequenciesOf(model),
                TimeSpan.FromSeconds(summary.TrainingSeconds), TimeSpan.FromSeconds(summary.TrainingCpuSeconds), FromCache: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static List<ModAddLogEntry> ReadLog(string path)
    {
        var log = new List<ModAddLogEntry>();
        if (!File.Exists(path)) return log;
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            try
            {
                log.Add(JsonSerializer.Deserialize(line, ModAddJsonContext.Default.ModAddLogEntry)
                    ?? throw new SaeSharpException("log entry is null", path, $"line {lineNumber}"));
            }
            catch (JsonException e)
            {
                throw new SaeSharpException($"log entry is not valid JSON: {e.Message}", path, $"line {lineNumber}", e);
            }
        }
        return log;
    }
}
