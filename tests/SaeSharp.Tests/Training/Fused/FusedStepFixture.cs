using SaeSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>Random SAE parameters and inputs with a known structure (x is a sparse mix of dictionary rows plus noise).</summary>
internal sealed class FusedStepFixture : IDisposable
{
    public readonly Tensor WEncLD, BEncL, WDecLD, BDecD;
    readonly Tensor dictionaryLD;
    readonly Generator generator;
    readonly ScalarType dtype;
    public readonly int Latents, Dim;

    public FusedStepFixture(int dim, int latents, ScalarType dtype, long seed)
    {
        Dim = dim; Latents = latents; this.dtype = dtype;
        generator = new Generator((ulong)seed);
        var wDec = randn([latents, dim], dtype, generator: generator);
        WDecLD = (wDec / wDec.norm(1, keepdim: true)).DetachFromDisposeScope();
        WEncLD = (WDecLD + 0.1 * randn([latents, dim], dtype, generator: generator)).DetachFromDisposeScope();
        BEncL = (0.1 * randn([latents], dtype, generator: generator)).DetachFromDisposeScope();
        BDecD = (0.1 * randn([dim], dtype, generator: generator)).DetachFromDisposeScope();
        var dict = randn([latents, dim], dtype, generator: generator);
        dictionaryLD = (dict / dict.norm(1, keepdim: true)).DetachFromDisposeScope();
    }

    /// <summary>A TopK or BatchTopK SAE of the fixture's shape and dtype holding the fixture's parameters.</summary>
    public Sae CreateSae(bool batchTopK, int k)
    {
        SaeArchitecture architecture = batchTopK ? new BatchTopKArchitecture(k) : new TopKArchitecture(k);
        var sae = Sae.Create(new SaeConfig(Dim, Latents, architecture), seed: 1);
        sae.to(dtype);
        using (no_grad())
        {
            sae.EncoderWeightLD.copy_(WEncLD); sae.EncoderBiasL.copy_(BEncL);
            sae.DecoderWeightLD.copy_(WDecLD); sae.DecoderBiasD.copy_(BDecD);
        }
        return sae;
    }

    /// <summary>[B, D]: each row a sum of a few random dictionary directions plus a little noise.</summary>
    public Tensor Batch(int rows)
    {
        var codes = rand([rows, Latents], dtype, generator: generator);
        codes = codes * (rand([rows, Latents], dtype, generator: generator) < 8.0 / Latents).to_type(dtype);
        return codes.matmul(dictionaryLD) + 0.01 * randn([rows, Dim], dtype, generator: generator);
    }

    /// <summary>A dead mask with roughly the given fraction of latents marked dead.</summary>
    public Tensor DeadMask(double fraction) => rand([Latents], generator: generator) < fraction;

    public static StepSettings Settings(double lr, Tensor dead, double auxCoefficient = 1.0 / 32, int auxK = 6) =>
        new(lr, 0, dead, auxCoefficient, auxK);

    public void Dispose()
    {
        WEncLD.Dispose(); BEncL.Dispose(); WDecLD.Dispose(); BDecD.Dispose(); dictionaryLD.Dispose(); generator.Dispose();
    }
}
