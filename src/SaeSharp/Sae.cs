using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp;

/// <summary>
/// A sparse autoencoder: x̂ = z · W_dec + b_dec with z = σ((x − b_dec) · W_encᵀ + b_enc), where σ is the
/// architecture's sparse activation. Shapes: x <c>[B, D]</c>, z <c>[B, L]</c>.
/// </summary>
/// <remarks>
/// The encoder is held latent-major, <c>W_enc [L, D]</c>, so one latent's weights are contiguous (the fused
/// training step updates only selected latents' rows); checkpoints write SAELens' <c>[D, L]</c> layout.
/// Build one with <see cref="Create"/> or load one with <see cref="IO.SaeCheckpoint.Load"/>.
/// </remarks>
public abstract class Sae : nn.Module<Tensor, SaeOutput>
{
    private protected Sae(SaeConfig config, string name) : base(name)
    {
        Config = config.Validate();
        long d = config.InputDim, l = config.LatentCount;
        register_parameter("W_enc_LD", new Parameter(zeros(l, d)));
        register_parameter("W_dec", new Parameter(zeros(l, d)));
        register_parameter("b_enc", new Parameter(zeros(l)));
        register_parameter("b_dec", new Parameter(zeros(d)));
    }

    /// <summary>Shape and architecture.</summary>
    public SaeConfig Config { get; }

    /// <summary>Input width D.</summary>
    public int InputDim => Config.InputDim;

    /// <summary>Dictionary size L.</summary>
    public int LatentCount => Config.LatentCount;

    // Looked up by name each time: module.to(dtype or device) replaces the registered tensors.
    internal Parameter EncoderWeightLD => get_parameter("W_enc_LD")!;

    internal Parameter DecoderWeightLD => get_parameter("W_dec")!;

    internal Parameter EncoderBiasL => get_parameter("b_enc")!;

    internal Parameter DecoderBiasD => get_parameter("b_dec")!;

    /// <summary>The decoder <c>[L, D]</c>: row i is latent i's direction in activation space.</summary>
    public Tensor DecoderWeights => DecoderWeightLD;

    /// <summary>Trainable parameters by their training-state names, in a fixed order.</summary>
    internal virtual IReadOnlyList<(string Name, Parameter Parameter)> TrainableParameters =>
        [("W_enc_LD", EncoderWeightLD), ("W_dec", DecoderWeightLD), ("b_enc", EncoderBiasL), ("b_dec", DecoderBiasD)];

    /// <summary>Builds an SAE of the configured architecture with seeded initial weights.</summary>
    /// <param name="config">Shape and architecture; validated here.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="SaeSharpException">The configuration is invalid.</exception>
    public static Sae Create(SaeConfig config, long seed)
    {
        config.Validate();
        Sae sae = config.Architecture switch
        {
            TopKArchitecture topK => new TopKSae(config, topK),
            BatchTopKArchitecture batchTopK => new BatchTopKSae(config, batchTopK),
            JumpReluArchitecture jumpRelu => new JumpReluSae(config, jumpRelu),
            ReluArchitecture => new ReluSae(config),
            _ => throw new SaeSharpException($"unknown architecture {config.Architecture.GetType().Name}", field: "architecture"),
        };
        sae.Initialize(seed);
        return sae;
    }

    /// <summary>Encodes with the inference rule. x <c>[B, D]</c> → z <c>[B, L]</c>.</summary>
    public Tensor Encode(Tensor xBD)
    {
        using var scope = NewDisposeScope();
        using var preActsBL = PreActivations(xBD);
        return Activate(preActsBL, training: false).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes a latent code. z <c>[B, L]</c> → x̂ <c>[B, D]</c>.</summary>
    public Tensor Decode(Tensor latentsBL) => latentsBL.matmul(DecoderWeightLD).add_(DecoderBiasD, HeldScalars.One);

    /// <summary>
    /// Full pass with every loss term. Uses the training rule when the module is in training mode
    /// (<c>train()</c>) and the inference rule otherwise, where it equals <c>Decode(Encode(x))</c>.
    /// </summary>
    public override SaeOutput forward(Tensor xBD)
    {
        using var scope = NewDisposeScope();
        var preActsBL = PreActivations(xBD);
        var latentsBL = Activate(preActsBL, training);
        var reconBD = Decode(latentsBL);
        using var rows = xBD.shape[0].ToScalar();
        var reconLoss = reconBD.sub(xBD).pow(HeldScalars.Two).sum().div(rows);
        var sparsityLoss = SparsityLoss(preActsBL, latentsBL);
        return new SaeOutput(
            reconBD.MoveToOuterDisposeScope(), latentsBL.MoveToOuterDisposeScope(), preActsBL.MoveToOuterDisposeScope(),
            reconLoss.MoveToOuterDisposeScope(), sparsityLoss.MoveToOuterDisposeScope());
    }

    /// <summary>Encoder pre-activations (x − b_dec) · W_encᵀ + b_enc, <c>[B, L]</c>.</summary>
    internal Tensor PreActivations(Tensor xBD)
    {
        if (xBD.dim() != 2 || xBD.shape[1] != InputDim)
            throw new SaeSharpException($"input has shape [{string.Join(", ", xBD.shape)}], expected [B, {InputDim}]", field: "x");
        if (!Config.ApplyDecoderBiasToInput)
            return nn.functional.linear(xBD, EncoderWeightLD, EncoderBiasL);
        using var centredBD = xBD.sub(DecoderBiasD);
        return nn.functional.linear(centredBD, EncoderWeightLD, EncoderBiasL);
    }

    /// <summary>The sparse activation: pre-activations <c>[B, L]</c> → latents <c>[B, L]</c>.</summary>
    private protected abstract Tensor Activate(Tensor preActsBL, bool training);

    /// <summary>The unweighted sparsity term, 0-dim; zero where the architecture has none.</summary>
    private protected virtual Tensor SparsityLoss(Tensor preActsBL, Tensor latentsBL) => zeros(1, dtype: preActsBL.dtype).squeeze();

    /// <summary>Seeded initial weights: random unit decoder rows, encoder tied to the decoder, zero biases.</summary>
    private protected virtual void Initialize(long seed)
    {
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed);
        using var directionsLD = randn(LatentCount, InputDim, generator: generator);
        using var normsL1 = directionsLD.norm(1, keepdim: true);
        using var unitLD = directionsLD.div(normsL1);
        using var scaledLD = unitLD.mul(InitialDecoderNorm);
        DecoderWeightLD.copy_(scaledLD);
        EncoderWeightLD.copy_(scaledLD);
        EncoderBiasL.zero_();
        DecoderBiasD.zero_();
    }

    /// <summary>Norm of each initial decoder row.</summary>
    private protected virtual double InitialDecoderNorm => 1.0;

    /// <summary>Renormalises decoder rows to unit norm (in place, no gradient).</summary>
    internal void NormalizeDecoderRowsInPlace()
    {
        using var noGrad = no_grad();
        using var normsL1 = DecoderWeightLD.norm(1, keepdim: true);
        using var tiny = 1e-12.ToScalar();
        using var safeL1 = normsL1.clamp_min(tiny);
        DecoderWeightLD.div_(safeL1);
    }
}
