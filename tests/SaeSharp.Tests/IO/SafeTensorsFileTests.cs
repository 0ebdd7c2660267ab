using TorchSharp;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SaeSharp.IO;
using static TorchSharp.torch;

namespace SaeSharp.Tests.IO;

public sealed class SafeTensorsFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-st-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void SafeTensorsFile_WriteThenRead_RoundTripsBitExact()
    {
        var path = Path.Combine(_directory, "t.safetensors");
        using var a = randn(3, 5, generator: new TorchSharp.torch.Generator(1));
        using var b = arange(7, dtype: ScalarType.Int64);
        using var c = randn(4, dtype: ScalarType.Float64, generator: new TorchSharp.torch.Generator(2));
        SafeTensorsFile.Write(path, [("a", a), ("b", b), ("c", c)], new Dictionary<string, string> { ["k"] = "v" });

        var read = SafeTensorsFile.Read(path);
        Assert.Equal("v", read.Metadata["k"]);
        using var a2 = read.Get("a", path).ToTensor();
        using var b2 = read.Get("b", path).ToTensor();
        using var c2 = read.Get("c", path).ToTensor();
        Assert.True(TestTensors.Identical(a, a2));
        Assert.True(TestTensors.Identical(b, b2));
        Assert.True(TestTensors.Identical(c, c2));
    }

    [Fact]
    public void SafeTensorsFile_Write_IsReadableByAnIndependentParser()
    {
        var path = Path.Combine(_directory, "t.safetensors");
        using var a = tensor(new float[] { 1.5f, -2, 3.25f, 4 }).reshape(2, 2);
        SafeTensorsFile.Write(path, [("w", a)]);

        // Independent reading: the format's definition, by hand.
        var bytes = File.ReadAllBytes(path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        var entry = header.RootElement.GetProperty("w");
        Assert.Equal("F32", entry.GetProperty("dtype").GetString());
        Assert.Equal([2L, 2L], entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var values = Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)headerLength + offsets[0] + 4 * i))).ToArray();
        Assert.Equal([1.5f, -2f, 3.25f, 4f], values);
        Assert.Equal(16, offsets[1] - offsets[0]);
    }

    [Fact]
    public void SafeTensorsFile_Read_TruncatedFile_NamesFileAndProblem()
    {
        var path = WriteSample();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);
        var error = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Read(path));
        Assert.Equal(path, error.FilePath);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void SafeTensorsFile_Read_HeaderLongerThanFile_IsRejected()
    {
        var path = WriteSample();
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Read(path));
        Assert.Contains("header length", error.Message);
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F99\",\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "need 12")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", "outside")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "non-negative")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "account for 4")]
    public void SafeTensorsFile_Parse_InconsistentHeader_IsRejected(string header, string expected)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + headerBytes.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)headerBytes.Length);
        headerBytes.CopyTo(bytes, 8);
        var error = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Parse(bytes, "mem"));
        Assert.Contains(expected, error.Message);
    }

    private string WriteSample()
    {
        var path = Path.Combine(_directory, "s.safetensors");
        using var a = ones(4, 4);
        SafeTensorsFile.Write(path, [("a", a)]);
        return path;
    }
}
