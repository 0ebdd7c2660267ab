using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// Endless synthetic activations with a known dictionary (see <see cref="SyntheticSourceConfig"/>). Each batch
/// is generated from a seed derived from the source seed and the batch's starting position, so a resumed
/// run sees the same rows.
/// </summary>
public sealed class SyntheticActivationSource : IActivationSource
{
    private readonly Tensor _dictionaryFD;

    /// <summary>Creates the source and its seeded dictionary.</summary>
    /// <exception cref="SaeSharpException">The config is invalid.</exception>
    public SyntheticActivationSource(SyntheticSourceConfig config)
    {
        Config = config.Validate();
        using var generator = new Generator(Mix(config.Seed, ulong.MaxValue));
        using var raw = randn(config.TrueFeatures, config.InputDim, generator: generator);
        using var norms = raw.norm(1, keepdim: true);
        _dictionaryFD = raw.div(norms).DetachFromDisposeScope();
    }

    /// <summary>The generating settings.</summary>
    public SyntheticSourceConfig Config { get; }

    /// <summary>The true dictionary <c>[F, D]</c>, unit rows.</summary>
    public Tensor TrueDictionary => _dictionaryFD;

    /// <inheritdoc />
    public int InputDim => Config.InputDim;

    /// <inheritdoc />
    public long Position { get; private set; }

    /// <inheritdoc />
    public long? RowCount => null;

    /// <inheritdoc />
    public Tensor NextBatch(int batchSize)
    {
        if (batchSize < 1) throw new SaeSharpException($"batch size {batchSize} must be at least 1", field: "batch_size");
        using var scope = NewDisposeScope();
        using var generator = new Generator(Mix(Config.Seed, (ulong)Position));
        // The top entries of uniform noise pick a uniformly random subset of features per row.
        var (_, chosenBA) = rand(batchSize, Config.TrueFeatures, generator: generator).topk(Config.ActivePerRow, dim: 1);
        var valuesBA = rand(batchSize, Config.ActivePerRow, generator: generator).add_(HeldScalars.Half, HeldScalars.One);
        var coefficientsBF = zeros(batchSize, Config.TrueFeatures).scatter_(1, chosenBA, valuesBA);
        var rowsBD = coefficientsBF.matmul(_dictionaryFD);
        if (Config.Noise > 0)
            rowsBD.add_(randn(batchSize, Config.InputDim, generator: generator).mul_(Config.Noise));
        Position += batchSize;
        return rowsBD.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Seek(long position)
    {
        if (position < 0) throw new SaeSharpException($"position {position} must be 0 or more", field: "position");
        Position = position;
    }

    /// <summary>Fraction of true features that some decoder row matches with cosine above <paramref name="threshold"/>.</summary>
    /// <param name="decoderLD">Decoder rows <c>[L, D]</c>.</param>
    /// <param name="threshold">Cosine a match must exceed (0.9 by convention).</param>
    public double RecoveredFraction(Tensor decoderLD, double threshold = 0.9)
    {
        using var scope = NewDisposeScope();
        var decoder = decoderLD.detach().to(ScalarType.Float32).cpu();
        var unitLD = decoder.div(decoder.norm(1, keepdim: true).clamp_min(1e-12));
        var cosinesFL = _dictionaryFD.matmul(unitLD.t());
        var bestF = cosinesFL.max(1).values;
        return bestF.gt(threshold).to(ScalarType.Float32).mean().item<float>();
    }

    // SplitMix64 finaliser: distinct, well-spread generator seeds per (seed, position).
    private static ulong Mix(long seed, ulong salt)
    {
        ulong z = (ulong)seed * 0x9E3779B97F4A7C15UL + salt + 0x632BE59BD9B4E019UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <inheritdoc />
    public void Dispose() => _dictionaryFD.Dispose();
}
