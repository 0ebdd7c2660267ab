using System.Text.Json;

namespace SaeSharp.Harvest.Tests.Store;

internal static class StoreTestData
{
    /// <summary>A token-id file of <paramref name="count"/> sequences of lengths 1..maxLength, deterministic.</summary>
    public static string WriteTokenIds(string dir, int count, int maxLength, int seed = 7)
    {
        var rng = new Random(seed);
        var sequences = Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, rng.Next(1, maxLength + 1)).Select(_ => rng.Next(0, 384)).ToArray()).ToArray();
        var path = Path.Combine(dir, "ids.json");
        File.WriteAllText(path, JsonSerializer.Serialize(sequences));
        return path;
    }

    public static Dictionary<string, byte[]> Snapshot(string storeDir) =>
        Directory.EnumerateFiles(storeDir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(storeDir, f), File.ReadAllBytes);
}
