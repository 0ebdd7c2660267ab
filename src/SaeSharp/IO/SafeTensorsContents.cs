namespace SaeSharp.IO;

/// <summary>What a safetensors file holds: tensors by name, and the string metadata map.</summary>
public sealed record SafeTensorsContents(IReadOnlyDictionary<string, SafeTensor> Tensors, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The tensor of that name, or a clear error naming the file's tensors.</summary>
    /// <exception cref="SaeSharpException">No tensor has that name.</exception>
    public SafeTensor Get(string name, string origin) =>
        Tensors.TryGetValue(name, out var tensor)
            ? tensor
            : throw new SaeSharpException($"tensor is missing (the file has: {string.Join(", ", Tensors.Keys)})", origin, name);
}
