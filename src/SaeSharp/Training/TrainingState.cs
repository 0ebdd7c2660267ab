using System.Buffers.Binary;
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

    /// <summary>
    /// Reads the training state of the run in <paramref name="directory"/>, first completing a checkpoint whose
    /// commit a kill interrupted and removing what uncommitted writes left (so the state, config and weights read
    /// afterwards are of one step).
    /// </summary>
    /// <exception cref="SaeSharpException">The file is missing or malformed.</exception>
    public static TrainingState Load(string directory)
    {
        CheckpointCommit.Recover(directory);
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
        return StrictJson.Deserialize(Required(key), typeInfo, Path, key);
    }

    /// <summary>The non-negative integer under <paramref name="key"/>.</summary>
    /// <exception cref="SaeSharpException">The key is missing, not an integer, or negative.</exception>
    public long RequiredNonNegativeLong(string key)
    {
        long value = RequiredLong(key);
        return value >= 0 ? value : throw new SaeSharpException($"{value} is negative", Path, key);
    }

    /// <summary>The tensor <paramref name="name"/>, checked to have <paramref name="like"/>'s shape.</summary>
    /// <exception cref="SaeSharpException">The tensor is missing or has another shape.</exception>
    public Tensor RequiredTensor(string name, Tensor like)
    {
        try
        {
            return RequiredLike(Tensors, name, like);
        }
        catch (SaeSharpException e) when (e.FilePath is null)
        {
            throw new SaeSharpException(e.Message, Path, inner: e);
        }
    }

    /// <summary>
    /// The tensor <paramref name="name"/> of <paramref name="tensors"/>, checked to have <paramref name="like"/>'s
    /// shape and dtype (the optimizers read their moments through this; the error names the tensor, the caller the file).
    /// </summary>
    internal static Tensor RequiredLike(IReadOnlyDictionary<string, Tensor> tensors, string name, Tensor like)
    {
        if (!tensors.TryGetValue(name, out var value))
            throw new SaeSharpException("training state lacks this tensor", field: name);
        if (!value.shape.SequenceEqual(like.shape))
            throw new SaeSharpException($"shape [{string.Join(", ", value.shape)}] where [{string.Join(", ", like.shape)}] is expected", field: name);
        if (value.dtype != like.dtype)
            throw new SaeSharpException($"dtype {value.dtype} where {like.dtype} is expected", field: name);
        return value;
    }

    /// <summary>The optimizer's step count <c>adam.step</c>: one non-negative integer.</summary>
    internal static long RequiredStepCount(IReadOnlyDictionary<string, Tensor> tensors)
    {
        const string Name = "adam.step";
        if (!tensors.TryGetValue(Name, out var step))
            throw new SaeSharpException("training state lacks this tensor", field: Name);
        if (step.NumberOfElements != 1 || step.dtype is not (ScalarType.Int64 or ScalarType.Int32))
            throw new SaeSharpException($"must be one int64, not {step.dtype} of shape [{string.Join(", ", step.shape)}]", field: Name);
        long value = step.to_type(ScalarType.Int64).item<long>();
        return value >= 0 ? value : throw new SaeSharpException($"{value} is negative", field: Name);
    }

    /// <summary>
    /// The CPU generator state <c>rng.torch_cpu</c>, checked before libtorch sees it: <c>set_rng_state</c> of a tensor
    /// of another size or dtype, or of a Mersenne-Twister state whose position is out of range, fails inside libtorch
    /// with a C++ exception that TorchSharp does not catch, which ends the process.
    /// </summary>
    /// <exception cref="SaeSharpException">The tensor is not a state libtorch accepts.</exception>
    internal Tensor? RngState()
    {
        const string Name = "rng.torch_cpu";
        if (!Tensors.TryGetValue(Name, out var rng)) return null;
        using var current = get_rng_state();
        if (rng.dtype != ScalarType.Byte || !rng.shape.SequenceEqual(current.shape))
            throw new SaeSharpException($"{rng.dtype} of shape [{string.Join(", ", rng.shape)}] where libtorch's CPU generator needs Byte of shape [{string.Join(", ", current.shape)}]", Path, Name);
        if (rng.NumberOfElements == CpuGeneratorStateBytes)
        {
            // CPUGeneratorImplState: uint64 seed, int32 left, int32 seeded, uint64 next, uint64 state[624], ...
            // libtorch's mt19937::is_valid wants seeded, 1 <= left <= 624 and (uint32)next <= 624.
            var bytes = rng.data<byte>().ToArray();
            int left = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
            int seeded = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
            uint next = (uint)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16));
            if (seeded == 0 || left < 1 || left > MersenneStateWords || next > MersenneStateWords)
                throw new SaeSharpException($"is not a valid Mersenne-Twister state (left {left}, next {next}, seeded {seeded})", Path, Name);
        }
        return rng;
    }

    private const int CpuGeneratorStateBytes = 5056;
    private const int MersenneStateWords = 624;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var tensor in Tensors.Values) tensor.Dispose();
    }
}
