using System.Text;
using SaeSharp.IO;
using SaeSharp.Testing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SaeSharp.Tests.IO;

/// <summary>The safetensors reader against mutated files, and the bugs the fuzzer found, each by name.</summary>
public sealed class SafeTensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-fuzz-st-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private byte[] Seed(bool metadata)
    {
        var path = Path.Combine(_directory, $"seed{metadata}.safetensors");
        using var a = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var b = tensor(new long[] { 1, -2 });
        using var c = tensor(true);
        using var d = zeros([0, 4], ScalarType.Float16);
        SafeTensorsFile.Write(path, [("a", a), ("b", b), ("c", c), ("d", d)], metadata ? new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ä" } : null);
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void SafeTensorsFile_Parse_MutatedFiles_ReadOrThrowSaeSharpException()
    {
        byte[][] seeds = [Seed(true), Seed(false)];
        int run = Fuzz.Run(seeds, 20000, bytes =>
        {
            var contents = SafeTensorsFile.Parse(bytes, "fuzz.safetensors");
            foreach (var tensor in contents.Tensors.Values) tensor.ToTensor().Dispose();
        }, TimeSpan.FromSeconds(4), Fuzz.MutateSafeTensors, log: output.WriteLine);
        Assert.True(run > 100, $"only {run} cases ran");
    }

    private static byte[] Frame(string header, int dataBytes)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + dataBytes];
        BitConverter.GetBytes((ulong)json.Length).CopyTo(file, 0);
        json.CopyTo(file, 8);
        return file;
    }

    private static byte[] Frame(byte[] header, int dataBytes)
    {
        var file = new byte[8 + header.Length + dataBytes];
        BitConverter.GetBytes((ulong)header.Length).CopyTo(file, 0);
        header.CopyTo(file, 8);
        return file;
    }

    [Theory]
    [InlineData("1")]        // Enum.TryParse reads a number as the value it names
    [InlineData("F32, F64")] // and a comma list as the OR of its names (0 | 1 = F32)
    [InlineData("f32")]
    [InlineData(" F32")]
    [InlineData("F32 ")]
    public void SafeTensorsFile_Parse_DTypeNotAnExactName_Throws(string dtype)
    {
        var file = Frame($$$"""{"t":{"dtype":"{{{dtype}}}","shape":[1],"data_offsets":[0,4]}}""", 4);
        var e = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Parse(file, "x.safetensors"));
        Assert.Equal("t", e.Field);
        Assert.Contains("dtype", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafeTensorsFile_Parse_DataOffsetsAsStrings_Throws()
    {
        // TryGetInt64 on a string element threw InvalidOperationException.
        var file = Frame("""{"t":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}""", 4);
        var e = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Parse(file, "x.safetensors"));
        Assert.Equal("t", e.Field);
        Assert.Contains("data_offsets", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafeTensorsFile_Parse_InvalidUtf8InHeader_Throws()
    {
        // A bad byte in a name or string reached GetString, which throws InvalidOperationException.
        var header = Encoding.UTF8.GetBytes("""{"tX":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""");
        header[2] = 0xFF;
        var e = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Parse(Frame(header, 4), "x.safetensors"));
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
        Assert.Equal("x.safetensors", e.FilePath);
    }

    [Theory]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"__metadata__":{"a":"1","a":"2"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"t":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}""")]
    public void SafeTensorsFile_Parse_RepeatedKey_Throws(string header)
    {
        var e = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Parse(Frame(header, 4), "x.safetensors"));
        Assert.Equal("x.safetensors", e.FilePath);
    }

    [Theory]
    [InlineData("""{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"t":{"dtype":"\udc00","shape":[1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"__metadata__":{"a":"x\ud800"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""")]
    public void SafeTensorsFile_Parse_LoneSurrogateEscape_Throws(string header)
    {
        // Found by the fuzzer: valid UTF-8 that escapes half a surrogate pair made System.Text.Json throw
        // InvalidOperationException, from the duplicate-key check and from GetString.
        var e = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Parse(Frame(header, 4), "x.safetensors"));
        Assert.Contains("Unicode", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafeTensorsFile_Parse_MetadataValueNotString_Throws()
    {
        var e = Assert.Throws<SaeSharpException>(() => SafeTensorsFile.Parse(Frame("""{"__metadata__":{"a":1}}""", 0), "x.safetensors"));
        Assert.Equal("__metadata__.a", e.Field);
    }
}
