using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SaeSharp.Internals;
using static TorchSharp.torch;

namespace SaeSharp.IO;

/// <summary>
/// A small, strict reader and writer of the safetensors format: an 8-byte little-endian header length,
/// a JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
/// Every length, offset, dtype and shape is checked against the file before any byte is used.
/// </summary>
public static class SafeTensorsFile
{
    /// <summary>Headers larger than this are refused (the format's own reference limit).</summary>
    public const int MaxHeaderBytes = 100_000_000;

    /// <summary>Reads every tensor and the <c>__metadata__</c> map of a safetensors file.</summary>
    /// <exception cref="SaeSharpException">The file is missing, truncated or inconsistent; the message names it and what is wrong.</exception>
    public static SafeTensorsContents Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SaeSharpException($"cannot read safetensors file: {e.Message}", path, inner: e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses safetensors bytes; <paramref name="origin"/> names them in errors.</summary>
    /// <exception cref="SaeSharpException">The bytes are not a consistent safetensors file.</exception>
    public static SafeTensorsContents Parse(byte[] bytes, string origin)
    {
        if (bytes.Length < 8)
            throw new SaeSharpException($"file is {bytes.Length} bytes, shorter than the 8-byte header length", origin);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes)
            throw new SaeSharpException($"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit", origin);
        if (headerLength > (ulong)bytes.Length - 8)
            throw new SaeSharpException($"header length {headerLength} runs past the end of the {bytes.Length}-byte file (truncated?)", origin);
        int dataStart = 8 + (int)headerLength;
        long dataLength = bytes.Length - dataStart;

        using (var header = StrictJson.Parse(bytes.AsMemory(8, (int)headerLength), origin, "header"))
        {
            if (header.RootElement.ValueKind != JsonValueKind.Object)
                throw new SaeSharpException("header is not a JSON object", origin);

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var ranges = new List<(long Begin, long End, string Name)>();
            var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
            foreach (var property in header.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(property.Value, metadata, origin);
                    continue;
                }
                var tensor = ReadEntry(property.Name, property.Value, bytes, dataStart, dataLength, origin);
                if (!tensors.TryAdd(property.Name, tensor))
                    throw new SaeSharpException("tensor name appears twice in the header", origin, property.Name);
                ranges.Add((tensor.Data.Length == 0 ? 0 : GetBegin(property.Value), GetBegin(property.Value) + tensor.Data.Length, property.Name));
            }
            CheckCoverage(ranges, dataLength, origin);
            return new SafeTensorsContents(tensors, metadata);
        }
    }

    /// <summary>
    /// Writes tensors (converted to contiguous little-endian CPU data) and optional metadata, atomically:
    /// the file appears whole or not at all.
    /// </summary>
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var payloads = new List<(string Name, SafeTensorDType DType, long[] Shape, byte[] Data)>(tensors.Count);
        foreach (var (name, tensor) in tensors)
        {
            if (name == "__metadata__" || !seen.Add(name))
                throw new SaeSharpException("tensor name is reserved or repeated", path, name);
            payloads.Add((name, SafeTensorsFormat.FromScalarType(tensor.dtype), tensor.shape, ToBytes(tensor)));
        }

        var headerJson = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerJson))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, dtype, shape, data) in payloads)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.ToString());
                json.WriteStartArray("shape");
                foreach (var dim in shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += data.Length;
            }
            json.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8 so the data is aligned, as the reference writer does.
        int padding = (int)((8 - headerJson.Length % 8) % 8);
        for (int i = 0; i < padding; i++) headerJson.WriteByte((byte)' ');

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerJson.Length);
            stream.Write(length);
            headerJson.Position = 0;
            headerJson.CopyTo(stream);
            foreach (var payload in payloads) stream.Write(payload.Data);
        });
    }

    private static byte[] ToBytes(Tensor tensor)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors writing needs a little-endian machine");
        using var cpu = tensor.detach().cpu().contiguous();
        var bytes = new byte[cpu.NumberOfElements * cpu.ElementSize];
        if (bytes.Length > 0)
        {
            unsafe
            {
                new ReadOnlySpan<byte>(TensorMemory.Address(cpu), bytes.Length).CopyTo(bytes);
            }
        }
        return bytes;
    }

    private static long GetBegin(JsonElement entry) => entry.GetProperty("data_offsets")[0].GetInt64();

    private static SafeTensor ReadEntry(string name, JsonElement entry, byte[] bytes, int dataStart, long dataLength, string origin)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException("header entry is not an object", origin, name);
        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !SafeTensorsFormat.TryParseDType(dtypeElement.GetString()!, out var dtype))
            throw new SaeSharpException($"dtype {(entry.TryGetProperty("dtype", out var d) ? d.ToString() : "(missing)")} is not one of {string.Join(", ", Enum.GetNames<SafeTensorDType>())}", origin, name);
        if (!entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new SaeSharpException("shape is missing or not an array", origin, name);
        var shape = new long[shapeElement.GetArrayLength()];
        long elements = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            var dim = shapeElement[i];
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out shape[i]) || shape[i] < 0)
                throw new SaeSharpException($"shape entry {i} is not a non-negative integer", origin, name);
            try { elements = checked(elements * shape[i]); }
            catch (OverflowException) { throw new SaeSharpException("shape's element count overflows", origin, name); }
        }
        if (!entry.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
            throw new SaeSharpException("data_offsets is missing or not two integers", origin, name);
        if (begin < 0 || end < begin || end > dataLength)
            throw new SaeSharpException($"data_offsets [{begin}, {end}] lie outside the {dataLength}-byte data section (truncated file?)", origin, name);
        long expected;
        try { expected = checked(elements * SafeTensorsFormat.ElementSize(dtype)); }
        catch (OverflowException) { throw new SaeSharpException("tensor byte size overflows", origin, name); }
        if (end - begin != expected)
            throw new SaeSharpException($"holds {end - begin} bytes but dtype {dtype} and shape [{string.Join(", ", shape)}] need {expected}", origin, name);
        var data = bytes.AsSpan(dataStart + (int)begin, (int)(end - begin)).ToArray();
        return new SafeTensor(name, dtype, shape, data);
    }

    private static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata, string origin)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new SaeSharpException("__metadata__ is not an object", origin, "__metadata__");
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new SaeSharpException("metadata values must be strings", origin, "__metadata__." + item.Name);
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static void CheckCoverage(List<(long Begin, long End, string Name)> ranges, long dataLength, string origin)
    {
        ranges.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long covered = 0;
        foreach (var (begin, end, name) in ranges)
        {
            if (begin == end) continue;
            if (begin != covered)
                throw new SaeSharpException(begin < covered ? "data overlaps another tensor's" : $"data section has a hole before byte {begin}", origin, name);
            covered = end;
        }
        if (covered != dataLength)
            throw new SaeSharpException($"data section is {dataLength} bytes but the tensors account for {covered}", origin);
    }
}
