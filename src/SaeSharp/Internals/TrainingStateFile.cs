using System.Globalization;
using SaeSharp.IO;
using static TorchSharp.torch;

namespace SaeSharp.Internals;

/// <summary>
/// The training state beside an SAE checkpoint (<c>training_state.safetensors</c>): exact parameters (before
/// any folding), optimizer moments, dead-latent counters, RNG state as tensors; step, data cursor, scale and
/// configs as metadata. Everything a run needs to continue bit-identically.
/// </summary>
internal static class TrainingStateFile
{
    public const string FileName = "training_state.safetensors";

    public sealed record Snapshot(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

    public static void Save(string directory, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata) =>
        SafeTensorsFile.Write(Path.Combine(directory, FileName), tensors, metadata);

    public static Snapshot Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new SaeSharpException("missing: this folder has no training state to resume from", path);
        var contents = SafeTensorsFile.Read(path);
        var tensors = contents.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToTensor());
        return new Snapshot(tensors, contents.Metadata);
    }

    public static string Required(Snapshot snapshot, string key, string directory) =>
        snapshot.Metadata.TryGetValue(key, out var value)
            ? value
            : throw new SaeSharpException("training state metadata lacks this key", Path.Combine(directory, FileName), key);

    public static long RequiredLong(Snapshot snapshot, string key, string directory) =>
        long.TryParse(Required(snapshot, key, directory), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new SaeSharpException("is not an integer", Path.Combine(directory, FileName), key);

    public static double RequiredDouble(Snapshot snapshot, string key, string directory) =>
        double.TryParse(Required(snapshot, key, directory), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new SaeSharpException("is not a number", Path.Combine(directory, FileName), key);
}
