using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SaeSharp.Hosts;
using SaeSharp.IO;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// Keeps a trained story host so it is trained once: a folder is reused when its <c>story_host.json</c> (written
/// last) records this recipe version and exactly these options, and its model, vocabulary and ONNX files load.
/// </summary>
public static class StoryHostCache
{
    /// <summary>
    /// The name of a run's entry in a folder of cached hosts: <c>stories-v{RecipeVersion}-seed{Seed}</c>, with a
    /// suffix (a hash of the options) when options other than the seed differ from the defaults.
    /// </summary>
    public static string EntryName(StoryHostOptions options)
    {
        var name = $"stories-v{StoryHost.RecipeVersion}-seed{options.Seed}";
        if (options != new StoryHostOptions { Seed = options.Seed })
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(options, StoryHostJsonContext.Default.StoryHostOptions)));
            name += "-" + Convert.ToHexStringLower(hash)[..12];
        }
        return name;
    }

    /// <summary>
    /// The host in <paramref name="folder"/> when it holds this run; otherwise trains it there. A folder that holds
    /// anything else is refused unless <paramref name="overwrite"/>, which also retrains a matching run; the old
    /// folder is replaced only once the new one is complete.
    /// </summary>
    /// <exception cref="SaeSharpException">An option is invalid, the folder holds something else and <paramref name="overwrite"/> is false, a cached file is corrupt, or training failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the folder is as it was.</exception>
    public static StoryHostResult LoadOrTrain(StoryHostOptions options, string folder, bool overwrite = false,
        IProgress<LanguageModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (!overwrite)
        {
            if (TryLoad(options, folder) is { } cached) return cached;
            if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
                throw new SaeSharpException("already holds files that are not this story host (another recipe, seed or a different folder); choose another folder or set `overwrite` to replace it", Path.GetFullPath(folder));
            return StoryHost.Train(options, folder, progress, cancellationToken);
        }
        // Train beside the old folder, then swap, so a failed or cancelled run leaves the old one in place.
        var full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        var fresh = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.new-{Guid.NewGuid():N}");
        StoryHostResult result;
        try
        {
            result = StoryHost.Train(options, fresh, progress, cancellationToken);
        }
        catch
        {
            if (Directory.Exists(fresh)) Directory.Delete(fresh, recursive: true);
            throw;
        }
        if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
        else if (File.Exists(full)) File.Delete(full);
        Directory.Move(fresh, full);
        return result with { HostPath = full };
    }

    /// <summary>The host in <paramref name="folder"/> if its summary records this recipe version and <paramref name="options"/>; otherwise null.</summary>
    /// <exception cref="SaeSharpException">The summary matches but a file of the folder is missing or corrupt.</exception>
    public static StoryHostResult? TryLoad(StoryHostOptions options, string folder)
    {
        var summaryPath = Path.Combine(folder, StoryHost.SummaryFileName);
        if (!File.Exists(summaryPath)) return null;
        StoryHostSummary summary;
        try
        {
            summary = StrictJson.Deserialize(StrictJson.ReadUtf8File(summaryPath), StoryHostJsonContext.Default.StoryHostSummary, summaryPath);
        }
        catch (SaeSharpException)
        {
            return null; // written by another version of the recipe, or not ours: not this run
        }
        if (summary.RecipeVersion != StoryHost.RecipeVersion || summary.Options != options) return null;

        var vocabulary = CompactVocabulary.Load(Path.Combine(folder, CompactVocabulary.FileName));
        foreach (var name in new[] { StoryHost.OnnxFileName, StoryHost.HeldOutFileName })
            if (!File.Exists(Path.Combine(folder, name)))
                throw new SaeSharpException("is missing from the cached story host", Path.Combine(folder, name));
        var model = GptNeoFolder.Load(folder);
        if (!model.Config.Equals(options.Host(vocabulary.Count)))
        {
            model.Dispose();
            throw new SaeSharpException($"does not describe the recipe's model over the {vocabulary.Count}-token vocabulary", Path.Combine(folder, GptNeoFolder.ConfigFileName));
        }
        return new StoryHostResult(model, vocabulary, summary, Path.GetFullPath(folder), FromCache: true);
    }
}
