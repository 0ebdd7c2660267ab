using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders;

/// <summary>
/// An acausal crosscoder over S sources: one latent code read from all sources and a decoder per source,
/// f = σ(Σ_s x^s · W_enc^s + b_enc), x̂^s = f · W_dec^s + b_dec^s. Shapes: x <c>[B, S, D]</c>, f <c>[B, L]</c>,
/// W_enc <c>[S, D, L]</c>, W_dec <c>[L, S, D]</c>, b_enc <c>[L]</c>, b_dec <c>[S, D]</c> (the layout of
/// Kissane et al.'s open crosscoder). σ is ReLU for <see cref="CrosscoderSparsity.L1"/> and BatchTopK on
/// f_l · Σ_s ‖d_l^s‖ for <see cref="CrosscoderSparsity.BatchTopK"/>.
/// </summary>
/// <remarks>
/// Decoder rows are not normalised: how a latent's decoder norm splits over the sources is what model diffing
/// reads, and both sparsity rules weight a latent by the sum of its decoder norms so that shrinking a decoder
/// while growing the encoder buys nothing. Build one with <see cref="Create"/>, load one with
/// <see cref="CrosscoderCheckpoint.Load"/>.
/// </remarks>
public sealed class Crosscoder : nn.Module<Tensor, CrosscoderOutput>
{
    private Crosscoder(CrosscoderConfig config) : base(nameof(Crosscoder))
    {
        Config = config.Validate();
        long s = config.SourceCount, d = config.InputDim, l = config.LatentCount;
        register_parameter("W_enc", new Parameter(zeros(s, d, l)));
        register_parameter("W_dec", new Parameter(zeros(l, s, d)));
        register_parameter("b_enc", new Parameter(zeros(l)));
        register_parameter("b_dec", new Parameter(zeros(s, d)));
        register_buffer("threshold", zeros(l));
    }

    /// <summary>Shape and sparsity rule.</summary>
    public CrosscoderConfig Config { get; }

    /// <summary>S: sources.</summary>
    public int SourceCount => Config.SourceCount;

    /// <summary>D: width of each source.</summary>
    public int InputDim => Config.InputDim;

    /// <summary>L: latents.</summary>
    public int LatentCount => Config.LatentCount;

    internal Parameter EncoderWeightSDL => get_parameter("W_enc")!;

    internal Parameter DecoderWeightLSD => get_parameter("W_dec")!;

    internal Parameter EncoderBiasL => get_parameter("b_enc")!;

    internal Parameter DecoderBiasSD => get_parameter("b_dec")!;

    /// <summary>BatchTopK inference threshold on f_l · Σ_s ‖d_l^s‖, <c>[L]</c> (one shared value estimated in training; zeros for L1).</summary>
    public Tensor ThresholdL => get_buffer("threshold")!;

    /// <summary>The decoders <c>[L, S, D]</c>: entry [l, s] is latent l's direction in source s.</summary>
    public Tensor DecoderWeights => DecoderWeightLSD;

    /// <summary>Trainable parameters by their training-state names, in a fixed order.</summary>
    internal IReadOnlyList<(string Name, Parameter Parameter)> TrainableParameters =>
        [("W_enc", EncoderWeightSDL), ("W_dec", DecoderWeightLSD), ("b_enc", EncoderBiasL), ("b_dec", DecoderBiasSD)];

    /// <summary>Builds a crosscoder with seeded initial weights: per-source decoder rows of norm <see cref="CrosscoderConfig.DecoderInitNorm"/> in random directions, the encoder their transpose, zero biases.</summary>
    /// <exception cref="SaeSharpException">The configuration is invalid.</exception>
    public static Crosscoder Create(CrosscoderConfig config, long seed)
    {
        var crosscoder = new Crosscoder(config);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        var directionsLSD = randn(config.LatentCount, config.SourceCount, config.InputDim, generator: generator);
        var decoderLSD = directionsLSD.div(directionsLSD.norm(2, keepdim: true)).mul(config.DecoderInitNorm);
        crosscoder.DecoderWeightLSD.copy_(decoderLSD);
        crosscoder.EncoderWeightSDL.copy_(decoderLSD.permute(1, 2, 0));
        return crosscoder;
    }

    internal static Crosscoder CreateEmpty(CrosscoderConfig config) => new(config);

    /// <summary>‖d_l^s‖ for every latent and source, <c>[L, S]</c> (no gradient).</summary>
    public Tensor DecoderNorms()
    {
        using var noGrad = no_grad();
        return DecoderWeightLSD.norm(2, keepdim: false);
    }

    /// <summary>Encoder pre-activations Σ_s x^s · W_enc^s + b_enc: x <c>[B, S, D]</c> → <c>[B, L]</c>.</summary>
    public Tensor PreActivations(Tensor xBSD)
    {
        CheckInput(xBSD);
        long b = xBSD.shape[0], sd = (long)SourceCount * InputDim;
        using var flatBX = xBSD.reshape(b, sd);
        using var encoderXL = EncoderWeightSDL.reshape(sd, LatentCount);
        return flatBX.matmul(encoderXL).add_(EncoderBiasL, HeldScalars.One);
    }

    /// <summary>Encodes with the inference rule. x <c>[B, S, D]</c> → f <c>[B, L]</c>.</summary>
    public Tensor Encode(Tensor xBSD)
    {
        using var scope = NewDisposeScope();
        var preActsBL = PreActivations(xBSD);
        return Activate(preActsBL, training: false).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes a latent code into every source. f <c>[B, L]</c> → x̂ <c>[B, S, D]</c>.</summary>
    public Tensor Decode(Tensor latentsBL)
    {
        using var scope = NewDisposeScope();
        long b = latentsBL.shape[0];
        var decoderLX = DecoderWeightLSD.reshape(LatentCount, (long)SourceCount * InputDim);
        return latentsBL.matmul(decoderLX).view(b, SourceCount, InputDim).add(DecoderBiasSD, HeldScalars.One).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Full pass with every loss term: the training rule in training mode (<c>train()</c>), otherwise the
    /// inference rule, where it equals <c>Decode(Encode(x))</c>.
    /// </summary>
    public override CrosscoderOutput forward(Tensor xBSD)
    {
        using var scope = NewDisposeScope();
        var preActsBL = PreActivations(xBSD);
        var latentsBL = Activate(preActsBL, training);
        var reconBSD = Decode(latentsBL);
        var reconLoss = reconBSD.sub(xBSD).pow(HeldScalars.Two).sum().div(xBSD.shape[0]);
        var sparsityLoss = Config.Sparsity == CrosscoderSparsity.L1
            ? latentsBL.mul(NormSumL()).sum().div(xBSD.shape[0])
            : zeros(1, dtype: preActsBL.dtype).squeeze();
        return new CrosscoderOutput(reconBSD.MoveToOuterDisposeScope(), latentsBL.MoveToOuterDisposeScope(),
            preActsBL.MoveToOuterDisposeScope(), reconLoss.MoveToOuterDisposeScope(), sparsityLoss.MoveToOuterDisposeScope());
    }

    /// <summary>Σ_s ‖d_l^s‖, <c>[L]</c>, inside the autograd graph.</summary>
    internal Tensor NormSumL() => DecoderWeightLSD.norm(2, keepdim: false).sum(1);

    private Tensor Activate(Tensor preActsBL, bool training)
    {
        using var scope = NewDisposeScope();
        var actsBL = preActsBL.relu();
        if (Config.Sparsity == CrosscoderSparsity.L1)
            return actsBL.MoveToOuterDisposeScope();
        Tensor weightedBL;
        using (no_grad()) weightedBL = actsBL.mul(NormSumL());
        if (!training)
            return actsBL.mul(weightedBL.gt(ThresholdL)).MoveToOuterDisposeScope();
        return actsBL.mul(BatchTopKMask(weightedBL, Config.K)).MoveToOuterDisposeScope();
    }

    /// <summary>1 where an entry is among the B·K largest of the batch (and positive), else 0; <c>[B, L]</c>.</summary>
    internal static Tensor BatchTopKMask(Tensor weightedBL, int k)
    {
        using var scope = NewDisposeScope();
        var flat = weightedBL.flatten();
        long keep = Math.Min((long)k * weightedBL.shape[0], flat.shape[0]);
        var (values, indices) = flat.topk(checked((int)keep));
        var mask = zeros_like(flat).scatter_(0, indices, values.gt(0).to_type(flat.dtype));
        return mask.view(weightedBL.shape).MoveToOuterDisposeScope();
    }

    private void CheckInput(Tensor xBSD)
    {
        if (xBSD.dim() != 3 || xBSD.shape[1] != SourceCount || xBSD.shape[2] != InputDim)
            throw new SaeSharpException($"input has shape [{string.Join(", ", xBSD.shape)}], expected [B, {SourceCount}, {InputDim}]", field: "x");
    }
}
