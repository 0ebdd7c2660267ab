using System.Text.Json;
using SaeSharp.Harvest.Store;
using SaeSharp.IO;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// Stories as harvest input and their labels beside the harvested store: write the stories' ids as a token-id file
/// (each story one sequence, no BOS), harvest it, then write the store's <c>labels.bin</c> from the same stories so
/// that store row r carries the labels of the token it came from.
/// </summary>
public static class StoryCorpus
{
    /// <summary>Writes <paramref name="stories"/>' ids as a JSON array of id arrays (the harvest's token-id input), atomically.</summary>
    /// <exception cref="SaeSharpException">The file exists and <paramref name="overwrite"/> is false.</exception>
    public static void WriteTokenIds(string path, IReadOnlyList<Story> stories, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(stories);
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && !overwrite) throw new SaeSharpException("the token-id file exists; pass `overwrite` to replace it", full, "overwrite");
        AtomicFile.Write(full, stream =>
        {
            using var json = new Utf8JsonWriter(stream);
            json.WriteStartArray();
            foreach (var story in stories)
            {
                json.WriteStartArray();
                foreach (var id in story.TokenIds) json.WriteNumberValue(id);
                json.WriteEndArray();
            }
            json.WriteEndArray();
        });
    }

    /// <summary>
    /// Writes the store's label file (<see cref="StoreLabels"/>, names <see cref="StoryLabels.Names"/>) from the
    /// stories that were harvested into it, in the order they were harvested.
    /// </summary>
    /// <exception cref="SaeSharpException">The stories' tokens do not add up to the store's rows, the store was not harvested from token ids, or a label file exists and <paramref name="overwrite"/> is false.</exception>
    public static void WriteStoreLabels(string storePath, IReadOnlyList<Story> stories, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(stories);
        StoreLabels.Write(storePath, StoryLabels.Names, stories.Select(s => s.TokenLabels).ToList(), overwrite);
    }
}
