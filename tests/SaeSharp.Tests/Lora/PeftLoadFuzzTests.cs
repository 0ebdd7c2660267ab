using SaeSharp.Hosts;
using SaeSharp.Lora;
using SaeSharp.Testing;
using Xunit.Abstractions;

namespace SaeSharp.Tests.Lora;

/// <summary>Loading malformed PEFT adapter folders: one <see cref="SaeSharpException"/>, never a native crash or another exception.</summary>
[Collection("Torch")]
public sealed class PeftLoadFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("saesharp-fuzz-peft-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(LoraAdapters.ConfigFileName)]
    [InlineData(LoraAdapters.WeightsFileName)]
    public void LoraAdapters_LoadPeft_MutatedFile_ThrowsSaeSharpExceptionOnly(string file)
    {
        using var host = new HostTransformer(HostConfig.GptNeo(vocabSize: 20, contextLength: 8, modelDim: 8, headCount: 2, layerCount: 2, window: 3), seed: 1);
        using (var adapters = LoraAdapters.Create(host, new LoraConfig { Rank = 2 }, [1]))
            adapters.SavePeft(_directory);
        var path = Path.Combine(_directory, file);
        var seed = File.ReadAllBytes(path);
        int run = Fuzz.Run([seed], 3000, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                LoraAdapters.LoadPeft(_directory, host).Dispose();
            }
            catch (SaeSharpException)
            {
            }
        }, TimeSpan.FromSeconds(3), log: output.WriteLine);
        Assert.True(run > 10);
    }
}
