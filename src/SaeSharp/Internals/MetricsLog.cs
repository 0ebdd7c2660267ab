using SaeSharp.IO;
using System.Text.Json;
using SaeSharp.Training;

namespace SaeSharp.Internals;

/// <summary>
/// Appends one JSON object per metrics record to <c>metrics.jsonl</c>; on resume keeps the complete records up to the
/// resumed step and drops the rest, including a last line torn by a kill mid-write.
/// </summary>
internal sealed class MetricsLog
{
    public const string FileName = "metrics.jsonl";
    private readonly string _path;

    public MetricsLog(string directory, long resumeStep)
    {
        _path = Path.Combine(directory, FileName);
        if (resumeStep == 0)
        {
            AtomicFile.WriteAllText(_path, "");
            return;
        }
        if (!File.Exists(_path)) return;
        var kept = File.ReadAllLines(_path).Where(line => StepOf(line) is { } step && step <= resumeStep);
        AtomicFile.WriteAllText(_path, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>The record's step, or null for a line that is not a whole record (torn by a kill, or not ours).</summary>
    private static long? StepOf(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("step", out var step)
                && step.ValueKind == JsonValueKind.Number && step.TryGetInt64(out var value) ? value : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The last whole record in the log, or null when there is none.</summary>
    public TrainMetrics? LastRecord()
    {
        if (!File.Exists(_path)) return null;
        foreach (var line in File.ReadLines(_path).Reverse())
        {
            if (StepOf(line) is null) continue;
            try
            {
                return JsonSerializer.Deserialize(line, SaeSharpCompactJsonContext.Default.TrainMetrics);
            }
            catch (JsonException)
            {
                return null;
            }
        }
        return null;
    }

    public void Append(TrainMetrics metrics)
    {
        var line = JsonSerializer.Serialize(metrics, SaeSharpCompactJsonContext.Default.TrainMetrics);
        File.AppendAllText(_path, line + "\n");
    }
}
