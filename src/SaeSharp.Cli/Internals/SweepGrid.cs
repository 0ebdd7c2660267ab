using System.Globalization;
using System.Text.Json;
using SaeSharp.IO;

namespace SaeSharp.Cli.Internals;

/// <summary>
/// A sweep of <c>saesharp train</c> runs (docs/scale.md, "Training sweeps"): a JSON object with <c>out</c> (the folder
/// that gets one <c>run-NNNN</c> folder per run), <c>base</c> (train options every run shares) and <c>grid</c> (train
/// options with a list of values each). Keys are train options without the leading <c>--</c>; values are strings,
/// numbers or booleans (<c>true</c> gives a flag, <c>false</c> leaves it off). Runs are the cartesian product of the
/// grid's lists, the first key slowest and the last fastest, numbered from 0: the same numbers on every machine,
/// so a scheduler's task index names a run.
/// </summary>
internal sealed class SweepGrid
{
    /// <summary>Train options a sweep sets itself (or that make no sense per run).</summary>
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "out", "resume", "force", "json", "sweep", "index", "help", "h" };

    private SweepGrid(string path, string output, IReadOnlyList<(string Key, string? Value)> shared, IReadOnlyList<(string Key, IReadOnlyList<string> Values)> axes)
    {
        Path = path;
        Output = output;
        Shared = shared;
        Axes = axes;
    }

    /// <summary>The grid file (full path).</summary>
    public string Path { get; }

    /// <summary>The sweep folder (full path): run <c>i</c> writes <c>run-{i:D4}</c> inside it.</summary>
    public string Output { get; }

    /// <summary>Settings every run has: option name and value (null for a flag).</summary>
    public IReadOnlyList<(string Key, string? Value)> Shared { get; }

    /// <summary>The grid's axes in file order, each with its values (flags do not vary: they sit in <see cref="Shared"/>).</summary>
    public IReadOnlyList<(string Key, IReadOnlyList<string> Values)> Axes { get; }

    /// <summary>Runs in the sweep: the product of the axes' lengths (1 without axes).</summary>
    public int Count => Axes.Aggregate(1, (n, a) => n * a.Values.Count);

    /// <summary>Run <paramref name="index"/>: its settings (shared ones first, then one value per axis) and folder.</summary>
    /// <exception cref="SaeSharpException">The index is outside [0, Count).</exception>
    public SweepRun Run(int index)
    {
        if (index < 0 || index >= Count)
            throw new SaeSharpException($"run {index} is outside [0, {Count}) (the grid has {Count} runs)", Path, "--index");
        var settings = new List<(string Key, string? Value)>(Shared);
        int rest = index;
        var picks = new (string Key, string? Value)[Axes.Count];
        for (int a = Axes.Count - 1; a >= 0; a--)
        {
            var values = Axes[a].Values;
            picks[a] = (Axes[a].Key, values[rest % values.Count]);
            rest /= values.Count;
        }
        settings.AddRange(picks);
        return new SweepRun(index, Count, settings, Axes.Select(a => a.Key).ToList(), System.IO.Path.Combine(Output, RunFolderName(index)));
    }

    /// <summary>The folder name of run <paramref name="index"/>: <c>run-0007</c>.</summary>
    public static string RunFolderName(int index) => "run-" + index.ToString("D4", CultureInfo.InvariantCulture);

    /// <summary>Reads and checks a grid file; every key and value is checked here, the options themselves by the train parser.</summary>
    /// <exception cref="SaeSharpException">The file is missing or malformed; the message names the key.</exception>
    public static SweepGrid Read(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SaeSharpException("grid file not found", full, "--grid");
        using var document = StrictJson.Parse(StrictJson.ReadUtf8File(full, "--grid"), full, "--grid");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException("not a JSON object with `out`, `base` and `grid`", full);
        string? output = null;
        var shared = new List<(string, string?)>();
        var axes = new List<(string, IReadOnlyList<string>)>();
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "out":
                    if (property.Value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(property.Value.GetString()))
                        throw new SaeSharpException("must be a folder name (a non-empty string)", full, "out");
                    output = System.IO.Path.GetFullPath(property.Value.GetString()!);
                    break;
                case "base":
                    foreach (var (key, value) in Entries(property.Value, full, "base"))
                    {
                        var text = Value(value, full, $"base.{key}");
                        if (value.ValueKind != JsonValueKind.False) shared.Add((key, text));
                    }
                    break;
                case "grid":
                    foreach (var (key, value) in Entries(property.Value, full, "grid"))
                    {
                        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                            throw new SaeSharpException("must be a non-empty list of values", full, $"grid.{key}");
                        if (value.EnumerateArray().Any(v => v.ValueKind is JsonValueKind.True or JsonValueKind.False))
                            throw new SaeSharpException("flags (true/false) cannot vary along the grid; put them in `base`", full, $"grid.{key}");
                        var values = value.EnumerateArray().Select((v, i) => Value(v, full, $"grid.{key}[{i}]")!).ToList();
                        if (values.Distinct(StringComparer.Ordinal).Count() != values.Count)
                            throw new SaeSharpException("lists a value twice", full, $"grid.{key}");
                        axes.Add((key, values));
                    }
                    break;
                default:
                    throw new SaeSharpException($"unknown key `{property.Name}`; a grid has `out`, `base` and `grid`", full, property.Name);
            }
        }
        if (output is null) throw new SaeSharpException("missing: the folder that gets a run-NNNN folder per run", full, "out");
        foreach (var (key, _) in axes)
            if (shared.Any(s => s.Item1 == key))
                throw new SaeSharpException($"`{key}` is in both `base` and `grid`; give it in one", full, "grid." + key);
        long count = axes.Aggregate(1L, (n, a) => n * a.Item2.Count);
        if (count > 1_000_000) throw new SaeSharpException($"{count} runs; a grid holds at most 1000000", full, "grid");
        return new SweepGrid(full, output, shared, axes);
    }

    private static IEnumerable<(string Key, JsonElement Value)> Entries(JsonElement element, string path, string field)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException("must be an object of train options (without the leading --)", path, field);
        foreach (var property in element.EnumerateObject())
        {
            var key = property.Name;
            if (key.Length == 0 || key.StartsWith('-') || !key.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
                throw new SaeSharpException($"`{key}` is not a train option name (lower-case, without the leading --: `latents`, `k`, `lr`)", path, field);
            if (Reserved.Contains(key))
                throw new SaeSharpException($"`{key}` is set by the sweep itself (each run writes to its own run-NNNN folder)", path, $"{field}.{key}");
            yield return (key, property.Value);
        }
    }

    /// <summary>A value as its command-line text: strings as they are, numbers as written, true as a flag (null).</summary>
    private static string? Value(JsonElement value, string path, string field) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => null,
        _ => throw new SaeSharpException($"{value.ValueKind.ToString().ToLowerInvariant()} is not a string, number or boolean", path, field),
    };
}
