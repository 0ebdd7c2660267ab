using SaeSharp.IO;
using System.Text.Json;
using SaeSharp.Training;

namespace SaeSharp.Internals;

/// <summary>Appends one JSON object per metrics record to <c>metrics.jsonl</c>; on resume drops records past the resumed step.</summary>
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
        var kept = File.ReadAllLines(_path).Where(line =>
        {
            if (string.IsNullOrWhiteSpace(line)) return false;
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.GetProperty("step").GetInt64() <= resumeStep;
        });
        AtomicFile.WriteAllText(_path, string.Concat(kept.Select(l => l + "\n")));
    }

    public void Append(TrainMetrics metrics)
    {
        var line = JsonSerializer.Serialize(metrics, SaeSharpCompactJsonContext.Default.TrainMetrics);
        File.AppendAllText(_path, line + "\n");
    }
}
