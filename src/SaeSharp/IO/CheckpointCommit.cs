using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace SaeSharp.IO;

/// <summary>
/// Commits a checkpoint's files (the model's config and weights, the training state) as one unit, so that a kill
/// never leaves the config and weights of one step beside the state of another. The files stay at the top of the
/// run folder, where SAELens reads <c>cfg.json</c> and <c>sae_weights.safetensors</c>.
/// </summary>
/// <remarks>
/// <para>The protocol, a small redo log:</para>
/// <list type="number">
/// <item>every file is written into a staging folder <c>.checkpoint-STEP.tmp</c> and flushed; the files at the top are untouched;</item>
/// <item><c>checkpoint.json</c> (step, staging folder, each file's SHA-256) is replaced atomically: this is the commit;</item>
/// <item>the staged files are renamed over the top-level ones and the staging folder removed.</item>
/// </list>
/// <para>A kill before step 2 leaves the previous checkpoint whole (the staging folder is discarded on recovery);
/// a kill after it leaves a staging folder that <see cref="Recover"/> finishes moving, each file checked
/// against its recorded hash first.</para>
/// </remarks>
internal static class CheckpointCommit
{
    /// <summary>The commit record's file name in a run folder.</summary>
    public const string ManifestFileName = "checkpoint.json";

    private const string Format = "saesharp-checkpoint/1";
    private const string StagingPrefix = ".checkpoint-";
    private const string StagingSuffix = ".tmp";

    /// <summary>A committed checkpoint: its step, its staging folder's name and the hash of each file.</summary>
    public sealed record Pending(long Step, string StagingName, IReadOnlyDictionary<string, string> Sha256ByFile);

    /// <summary>Writes a checkpoint of <paramref name="step"/>: <paramref name="writeFiles"/> fills the folder it is given.</summary>
    public static void Write(string directory, long step, Action<string> writeFiles) =>
        Complete(directory, Prepare(directory, step, writeFiles));

    /// <summary>Steps 1 and 2: stages the files and commits the record; the top-level files are not touched yet.</summary>
    internal static Pending Prepare(string directory, long step, Action<string> writeFiles)
    {
        var stagingName = string.Create(CultureInfo.InvariantCulture, $"{StagingPrefix}{step}{StagingSuffix}");
        var staging = Path.Combine(directory, stagingName);
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        writeFiles(staging);
        var hashes = Directory.GetFiles(staging).Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .ToDictionary(name => name!, name => Sha256(Path.Combine(staging, name!)), StringComparer.Ordinal);
        var pending = new Pending(step, stagingName, hashes);
        AtomicFile.Write(Path.Combine(directory, ManifestFileName), stream => WriteRecord(stream, pending));
        return pending;
    }

    /// <summary>Step 3: moves the staged files into place (each checked against its hash) and removes the staging folder.</summary>
    internal static void Complete(string directory, Pending pending)
    {
        var staging = Path.Combine(directory, pending.StagingName);
        foreach (var (name, sha256) in pending.Sha256ByFile)
        {
            var source = Path.Combine(staging, name);
            // Moved already by an earlier, interrupted completion.
            if (!File.Exists(source)) continue;
            if (Sha256(source) != sha256)
                throw new SaeSharpException($"does not match the SHA-256 that {ManifestFileName} recorded for step {pending.Step}; the checkpoint cannot be completed (the disk may be failing)", source);
            File.Move(source, Path.Combine(directory, name), overwrite: true);
        }
        Directory.Delete(staging, recursive: true);
    }

    /// <summary>
    /// Brings a run folder to its last committed checkpoint: finishes a commit a kill interrupted, discards staging
    /// folders that were never committed, and removes the temporaries of interrupted atomic writes.
    /// </summary>
    /// <exception cref="SaeSharpException">The commit record is malformed or a staged file does not match it.</exception>
    public static void Recover(string directory)
    {
        if (!Directory.Exists(directory)) return;
        var manifestPath = Path.Combine(directory, ManifestFileName);
        var names = new HashSet<string>(StringComparer.Ordinal) { ManifestFileName };
        if (File.Exists(manifestPath))
        {
            var pending = Read(manifestPath);
            names.UnionWith(pending.Sha256ByFile.Keys);
            if (Directory.Exists(Path.Combine(directory, pending.StagingName)))
                Complete(directory, pending);
        }
        foreach (var staging in Directory.GetDirectories(directory, StagingPrefix + "*" + StagingSuffix))
            Directory.Delete(staging, recursive: true);
        foreach (var name in names)
            foreach (var temp in Directory.GetFiles(directory, AtomicFile.TemporaryPattern(name)))
                File.Delete(temp);
    }

    private static void WriteRecord(Stream stream, Pending pending)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("format", Format);
        json.WriteNumber("step", pending.Step);
        json.WriteString("staging", pending.StagingName);
        json.WriteStartObject("files");
        foreach (var (name, sha256) in pending.Sha256ByFile) json.WriteString(name, sha256);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static Pending Read(string path)
    {
        using var document = StrictJson.Parse(StrictJson.ReadUtf8File(path), path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException("is not a JSON object", path);
        string Text(JsonElement parent, string key, string field) =>
            parent.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()!
                : throw new SaeSharpException("must be a string", path, field);
        if (Text(root, "format", "format") != Format)
            throw new SaeSharpException($"is not {Format}", path, "format");
        if (!root.TryGetProperty("step", out var stepElement) || !stepElement.TryGetInt64(out var step) || step < 0)
            throw new SaeSharpException("must be a non-negative integer", path, "step");
        var staging = Text(root, "staging", "staging");
        if (!staging.StartsWith(StagingPrefix, StringComparison.Ordinal) || !staging.EndsWith(StagingSuffix, StringComparison.Ordinal)
            || staging.IndexOfAny(['/', '\\']) >= 0)
            throw new SaeSharpException($"\"{staging}\" is not a staging folder name", path, "staging");
        if (!root.TryGetProperty("files", out var files) || files.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException("must be an object of file names and SHA-256 hashes", path, "files");
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files.EnumerateObject())
        {
            if (file.Name.Length == 0 || file.Name.IndexOfAny(['/', '\\']) >= 0 || file.Name is "." or "..")
                throw new SaeSharpException($"\"{file.Name}\" is not a file name", path, "files");
            hashes[file.Name] = Text(files, file.Name, "files." + file.Name);
        }
        return new Pending(step, staging, hashes);
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
