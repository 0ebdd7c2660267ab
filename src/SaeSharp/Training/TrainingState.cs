using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SaeSharp.IO;
using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// The training state beside a checkpoint (<c>training_state.safetensors</c>), as read back: exact parameters
/// (before any folding), optimizer moments, dead-latent counters and RNG state as tensors; step, data cursor,
/// scales and configs as string metadata. Everything a run needs to continue bit-identically.
/// <see cref="DictionaryTrainer"/> writes it; trainers read their own entries from it when they resume.
/// </summary>
public sealed class TrainingState : IDisposable
{
    /// <summary>The file's name inside a run folder.</summary>
    public const string FileName = "training_state.safetensors";

    private TrainingState(string directory, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Directory = directory;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The run folder it was read from.</summary>
    public string Directory { get; }

    /// <summary>The file's path.</summary>
    public string Path => System.IO.Path.Combine(Directory, FileName);

    /// <summary>Every tensor by name (owned by this object; disposed with it).</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The string metadata by key.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>What <see cref="TrainerOptions.Metadata"/> held when the run was written (the <c>run.</c> keys).</summary>
    public IReadOnlyDictionary<string, string> RunMetadata =>
        Metadata.Where(kv => kv.Key.StartsWith("run.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["run.".Length..], kv => kv.Value);

    /// <summary>Reads the training state of the run in <paramref name="directory"/>.</summary>
    /// <exception cref="SaeSharpException">The file is missing or malformed.</exception>
    public static TrainingState Load(string directory)
    {
        var path = System.IO.Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new SaeSharpException("missing: this folder has no training state to resume from", path);
        var contents = SafeTensorsFile.Read(path);
        var tensors = contents.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToTensor());
        return new TrainingState(directory, tensors, contents.Metadata);
    }

    internal static void Save(string directory, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata) =>
        SafeTensorsFile.Write(System.IO.Path.Combine(directory, FileName), tensors, metadata);

    /// <summary>The metadata value under <paramref name="key"/>.</summary>
    /// <exception cref="SaeSharpException">The key is missing.</exception>
    public string Required(string key) =>
        Metadata.TryGetValue(key, out var value) ? value : throw new SaeSharpException("training state metadata lacks this key", Path, key);

    /// <summary>The integer under <paramref name="key"/>.</summary>
    /// <exception cref="SaeSharpException">The key is missing or not an integer.</exception>
    public long RequiredLong(string key) =>
        long.TryParse(Required(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value : throw new SaeSharpException("is not an integer", Path, key);

    /// <summary>The number under <paramref name="key"/>.</summary>
    /// <exception cref="SaeSharpException">The key is missing or not a number.</exception>
    public double RequiredDouble(string key) =>
        double.TryParse(Required(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value : throw new SaeSharpException("is not a number", Path, key);

    /// <summary>The JSON object under <paramref name="key"/>, deserialised with <paramref name="typeInfo"/>.</summary>
    /// <exception cref="SaeSharpException">The key is missing or does not hold that JSON.</exception>
    public T RequiredJson<T>(string key, JsonTypeInfo<T> typeInfo) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(Required(key), typeInfo) ?? throw new SaeSharpException("is null", Path, key);
        }
        catch (JsonException e)
        {
            throw new SaeSharpException($"is not valid JSON for {typeof(T).Name}: {e.Message}", Path, key, e);
        }
    }

    /// <summary>The tensor <paramref name="name"/>, checked to have <paramref name="like"/>'s shape.</summary>
    /// <exception cref="SaeSharpException">The tensor is missing or has another shape.</exception>
    public Tensor RequiredTensor(string name, Tensor like)
    {
        if (!Tensors.TryGetValue(name, out var value))
            throw new SaeSharpException("training state lacks this tensor", Path, name);
        if (!value.shape.SequenceEqual(like.shape))
            throw new SaeSharpException($"shape [{string.Join(", ", value.shape)}] where [{string.Join(", ", like.shape)}] is expected", Path, name);
        return value;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var tensor in Tensors.Values) tensor.Dispose();
    }
}
