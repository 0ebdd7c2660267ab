using SaeSharp.IO;
using SaeSharp.Internals;
using SaeSharp.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Hosts;

/// <summary>
/// A GPT-style decoder configured by <see cref="HostConfig"/>: input ids <c>[B, T]</c> (int64) → logits
/// <c>[B, T, OutputSize]</c> (float32).
/// </summary>
/// <remarks>
/// x₀ = wte[ids] + wpe[0..T); for each block i: x ← x + Attn_i(LN1(x)); x ← x + MLP(LN2(x)); logits = LN_f(x)·Wᵤᵀ
/// (LN is the identity when <see cref="HostConfig.UseLayerNorm"/> is false, Wᵤ = wte when tied).
/// Attn: per head softmax(q kᵀ [/√d] + mask) v, with masked scores set to float.MinValue as Hugging Face's
/// GPT-Neo does; MLP: c_proj(act(c_fc(x))). Parameters carry Hugging Face GPT-Neo's names
/// (<see cref="NamedWeights"/>), with nn.Linear's <c>[out, in]</c> layout.
/// </remarks>
public sealed class HostTransformer : nn.Module<Tensor, Tensor>, IHookedHost
{
    private readonly Dictionary<string, Parameter> _weights = new(StringComparer.Ordinal);
    private readonly Parameter _wte;
    private readonly Parameter _wpe;
    private readonly Parameter? _lmHead;
    private readonly Parameter? _lnFWeight;
    private readonly Parameter? _lnFBias;
    private readonly HostLayer[] _layers;

    /// <summary>Builds a model with freshly initialised weights (see <see cref="HostConfig.InitStd"/>), deterministic given <paramref name="seed"/>.</summary>
    /// <exception cref="SaeSharpException">The configuration is invalid.</exception>
    public HostTransformer(HostConfig config, long seed = 0) : base("HostTransformer")
    {
        Config = config.Validate();
        using var generator = new Generator((ulong)seed);
        double matrixStd = config.InitStd ?? 1.0 / Math.Sqrt(config.ModelDim);
        int d = config.ModelDim, hd = config.HeadCount * config.HeadDim;

        _wte = Add(HostNames.Wte, Normal([config.VocabSize, d], matrixStd, generator));
        _wpe = Add(HostNames.Wpe, Normal([config.ContextLength, d], matrixStd, generator));
        _layers = new HostLayer[config.LayerCount];
        for (int i = 0; i < config.LayerCount; i++)
        {
            var layer = new HostLayer(config.Attention[i]);
            if (config.UseLayerNorm)
            {
                layer.Ln1Weight = Add(HostNames.Ln1Weight(i), ones(d));
                layer.Ln1Bias = Add(HostNames.Ln1Bias(i), zeros(d));
            }
            layer.QWeight = Add(HostNames.QWeight(i), Normal([hd, d], matrixStd, generator));
            layer.KWeight = Add(HostNames.KWeight(i), Normal([hd, d], matrixStd, generator));
            layer.VWeight = Add(HostNames.VWeight(i), Normal([hd, d], matrixStd, generator));
            if (config.QkvBias)
            {
                layer.QBias = Add(HostNames.QBias(i), zeros(hd));
                layer.KBias = Add(HostNames.KBias(i), zeros(hd));
                layer.VBias = Add(HostNames.VBias(i), zeros(hd));
            }
            layer.OutWeight = Add(HostNames.OutWeight(i), Normal([d, hd], matrixStd, generator));
            if (config.OutProjBias) layer.OutBias = Add(HostNames.OutBias(i), zeros(d));
            if (config.UseLayerNorm)
            {
                layer.Ln2Weight = Add(HostNames.Ln2Weight(i), ones(d));
                layer.Ln2Bias = Add(HostNames.Ln2Bias(i), zeros(d));
            }
            layer.FcWeight = Add(HostNames.FcWeight(i), Normal([config.MlpDim, d], matrixStd, generator));
            if (config.MlpBias) layer.FcBias = Add(HostNames.FcBias(i), zeros(config.MlpDim));
            layer.ProjWeight = Add(HostNames.ProjWeight(i), Normal([d, config.MlpDim], matrixStd, generator));
            if (config.MlpBias) layer.ProjBias = Add(HostNames.ProjBias(i), zeros(d));
            _layers[i] = layer;
        }
        if (config.UseLayerNorm)
        {
            _lnFWeight = Add(HostNames.LnFWeight, ones(d));
            _lnFBias = Add(HostNames.LnFBias, zeros(d));
        }
        if (!config.TiedUnembedding)
            _lmHead = Add(HostNames.LmHead, Normal([config.OutputSize, d], config.InitStd ?? 1.0 / Math.Sqrt(config.OutputSize), generator));
    }

    /// <summary>The configuration this model was built with.</summary>
    public HostConfig Config { get; }

    /// <inheritdoc/>
    public int ModelDim => Config.ModelDim;

    /// <inheritdoc/>
    public int ContextLength => Config.ContextLength;

    /// <inheritdoc/>
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc/>
    public IReadOnlyList<string> HookPoints => Enumerable.Range(0, _layers.Length)
        .SelectMany(i => new[] { HostHooks.ResidPre(i), HostHooks.ResidMid(i), HostHooks.ResidPost(i) }).ToArray();

    /// <summary>
    /// Every parameter under its Hugging Face GPT-Neo name (<c>transformer.wte.weight</c>, ...,
    /// <c>lm_head.weight</c> only when untied), in a fixed order; the tensors are the live parameters.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> NamedWeights() => _weights.Select(kv => (kv.Key, (Tensor)kv.Value)).ToArray();

    /// <summary>
    /// The token embedding <c>wte</c> <c>[VocabSize, D]</c> (<c>transformer.wte.weight</c>), the live parameter: what
    /// analyses of the input vocabulary read, e.g. the key frequencies of an arithmetic host's number tokens.
    /// </summary>
    public Tensor TokenEmbedding => _wte;

    /// <summary>input ids <c>[B, T]</c> int64 → logits <c>[B, T, OutputSize]</c>.</summary>
    public override Tensor forward(Tensor inputIdsBT) => Forward(inputIdsBT, null);

    /// <summary>
    /// input ids <c>[B, T]</c> int64 → logits <c>[B, T, OutputSize]</c>, applying <paramref name="hooks"/> to the
    /// residual stream <c>[B, T, D]</c> at their points.
    /// </summary>
    /// <exception cref="SaeSharpException">The ids have the wrong type, shape or range, or a hook names an unknown point.</exception>
    public Tensor Forward(Tensor inputIdsBT, HostHooks? hooks) => Forward(inputIdsBT, hooks, adapters: null);

    /// <summary>
    /// As <see cref="Forward(Tensor, HostHooks?)"/>, with <paramref name="adapters"/> adding their low-rank updates to
    /// the projections they target (the base weights untouched): the adapted model without merging.
    /// </summary>
    /// <exception cref="SaeSharpException">The ids or hooks are invalid, or the adapters were built for another shape of model.</exception>
    public Tensor Forward(Tensor inputIdsBT, HostHooks? hooks, LoraAdapters? adapters)
    {
        CheckInput(inputIdsBT);
        if (hooks is not null) CheckHookPoints(hooks);
        adapters?.CheckFits(this);
        using var scope = NewDisposeScope();
        var xBTD = Embed(inputIdsBT);
        for (int i = 0; i < _layers.Length; i++)
        {
            xBTD = ApplyHook(hooks, HostHooks.ResidPre(i), xBTD);
            xBTD = Block(_layers[i], xBTD, queryStart: 0, hooks, HostHooks.ResidMid(i), adapters, i);
            xBTD = ApplyHook(hooks, HostHooks.ResidPost(i), xBTD);
        }
        hooks?.MoveCapturedToOuterScope();
        return Unembed(xBTD).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// An empty key/value cache for <paramref name="batchSize"/> sequences, for <see cref="ForwardIncremental"/>; it
    /// holds <c>2 · LayerCount · batchSize · ContextLength · HeadCount · HeadDim</c> floats.
    /// </summary>
    /// <exception cref="SaeSharpException"><paramref name="batchSize"/> is below 1.</exception>
    public HostKvCache CreateKvCache(int batchSize)
    {
        if (batchSize < 1) throw new SaeSharpException($"is {batchSize}; must be at least 1", field: "batch_size");
        return new HostKvCache(this, Config, batchSize, _wte.device);
    }

    /// <summary>
    /// Incremental decoding: the logits <c>[B, N, OutputSize]</c> of <paramref name="newIdsBN"/>, the next N tokens of
    /// the sequences whose first <see cref="HostKvCache.Length"/> tokens <paramref name="cache"/> has read; equal (up to
    /// float rounding) to the last N positions of <see cref="Forward(Tensor, HostHooks?)"/> on the whole sequences.
    /// Position embeddings start at the cache's length, local layers see only their window of keys, and
    /// <paramref name="hooks"/> act on the new positions alone (<c>[B, N, D]</c>): a hook that acts on each position by
    /// itself, such as adding a steering vector, changes the result exactly as it does in the full forward. The new
    /// positions' keys and values are appended to the cache. Not differentiable (inference only).
    /// </summary>
    /// <exception cref="SaeSharpException">The ids have the wrong type, shape or range, do not match the cache's batch
    /// size, would pass the context length, the cache belongs to another model, or a hook names an unknown point.</exception>
    public Tensor ForwardIncremental(Tensor newIdsBN, HostKvCache cache, HostHooks? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        cache.ThrowIfDisposed();
        if (!ReferenceEquals(cache.Owner, this))
            throw new SaeSharpException("the key/value cache was made by another model; make one with this model's CreateKvCache", field: "cache");
        CheckInput(newIdsBN);
        if (newIdsBN.shape[0] != cache.BatchSize)
            throw new SaeSharpException($"input ids have {newIdsBN.shape[0]} rows but the cache holds {cache.BatchSize}", field: "input_ids");
        if (cache.Capacity != Config.ContextLength || cache.Length + newIdsBN.shape[1] > Config.ContextLength)
            throw new SaeSharpException($"{newIdsBN.shape[1]} new tokens after {cache.Length} cached pass the context length {Config.ContextLength}", field: "input_ids");
        if (hooks is not null) CheckHookPoints(hooks);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int past = cache.Length, n = (int)newIdsBN.shape[1];
        var xBND = Embed(newIdsBN, past);
        for (int i = 0; i < _layers.Length; i++)
        {
            xBND = ApplyHook(hooks, HostHooks.ResidPre(i), xBND);
            xBND = Block(_layers[i], xBND, queryStart: 0, hooks, HostHooks.ResidMid(i), adapters: null, i, cache);
            xBND = ApplyHook(hooks, HostHooks.ResidPost(i), xBND);
        }
        cache.Advance(n);
        hooks?.MoveCapturedToOuterScope();
        return Unembed(xBND).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The logits at the last position only, <c>[B, OutputSize]</c>, equal to <c>Forward(ids)[:, -1]</c>: the last
    /// block computes attention queries and the MLP for that position alone, which is all a loss on the last token's
    /// answer needs (the fast path for training a host on such a task). Differentiable like <see cref="Forward(Tensor, HostHooks?)"/>.
    /// </summary>
    /// <exception cref="SaeSharpException">The ids have the wrong type, shape or range.</exception>
    public Tensor ForwardLastPosition(Tensor inputIdsBT)
    {
        CheckInput(inputIdsBT);
        using var scope = NewDisposeScope();
        return nn.functional.linear(FinalHiddenLastPosition(inputIdsBT), UnembeddingWeight).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// What the unembedding reads at the last position, <c>[B, D]</c>: the residual stream after the last block, through
    /// the final LayerNorm when the model has one; <see cref="ForwardLastPosition"/> is this times
    /// <see cref="UnembeddingWeight"/>ᵀ. For losses that use the final representation other than through a dot product
    /// (a distance-based head such as the harmonic loss). Differentiable, on the same fast path.
    /// </summary>
    /// <exception cref="SaeSharpException">The ids have the wrong type, shape or range.</exception>
    public Tensor ForwardLastPositionHidden(Tensor inputIdsBT)
    {
        CheckInput(inputIdsBT);
        using var scope = NewDisposeScope();
        return FinalHiddenLastPosition(inputIdsBT).MoveToOuterDisposeScope();
    }

    /// <summary>The unembedding <c>[OutputSize, D]</c>, the live parameter: <c>lm_head</c>, or <c>wte</c> when tied.</summary>
    public Tensor UnembeddingWeight => _lmHead ?? _wte;

    private Tensor FinalHiddenLastPosition(Tensor inputIdsBT)
    {
        long t = inputIdsBT.shape[1];
        if (_layers.Length == 1 && Config.VocabSize < inputIdsBT.shape[0])
            return FinalNorm(TabulatedSingleLayerLastPosition(inputIdsBT));
        var xBTD = Embed(inputIdsBT);
        for (int i = 0; i < _layers.Length; i++)
            xBTD = Block(_layers[i], xBTD, queryStart: i == _layers.Length - 1 ? t - 1 : 0);
        return FinalNorm(xBTD.select(1, 0));
    }

    /// <summary>
    /// The last-position residual after the block of a one-layer model when the batch is larger than the vocabulary: the block's
    /// input at (position, token) takes only V·T distinct values, so q/k/v are computed once per table row and
    /// gathered, leaving the MLP on B rows as the only batch-sized matrix work. Same function as the plain path.
    /// </summary>
    private Tensor TabulatedSingleLayerLastPosition(Tensor inputIdsBT)
    {
        var layer = _layers[0];
        long b = inputIdsBT.shape[0], t = inputIdsBT.shape[1], v = Config.VocabSize;
        int h = Config.HeadCount, dh = Config.HeadDim;
        var embedTVD = _wte.unsqueeze(0).add(_wpe.narrow(0, 0, t).unsqueeze(1), HeldScalars.One);
        var attnInTVD = Config.UseLayerNorm ? LayerNorm(embedTVD, layer.Ln1Weight!, layer.Ln1Bias!) : embedTVD;
        var kTableRF = nn.functional.linear(attnInTVD, layer.KWeight!, layer.KBias).reshape(t * v, h * dh);
        var vTableRF = nn.functional.linear(attnInTVD, layer.VWeight!, layer.VBias).reshape(t * v, h * dh);
        var qTableVF = nn.functional.linear(attnInTVD.select(0, t - 1), layer.QWeight!, layer.QBias);
        using var vocab = v.ToScalar();
        var rowsBT = inputIdsBT.add(arange(0, t, dtype: ScalarType.Int64).mul(vocab).unsqueeze(0)).reshape(-1);
        var lastIdsB = inputIdsBT.select(1, t - 1);
        // Batched products of 1×d by d×T matrices are slow in libtorch on CPU; broadcast-multiply-sum is not.
        var kBTHd = kTableRF.index_select(0, rowsBT).view(b, t, h, dh);
        var vBTHd = vTableRF.index_select(0, rowsBT).view(b, t, h, dh);
        var qB1Hd = qTableVF.index_select(0, lastIdsB).view(b, 1, h, dh);
        var scoresBTH = kBTHd.mul(qB1Hd).sum(-1);
        scoresBTH = ScaleScores(scoresBTH);
        scoresBTH = scoresBTH.masked_fill(Mask(layer.Attention, t - 1, t).logical_not().view(1, t, 1), HeldScalars.FloatMin);
        var zBF = scoresBTH.softmax(1).unsqueeze(-1).mul(vBTHd).sum(1).reshape(b, h * dh);
        var midBD = embedTVD.select(0, t - 1).index_select(0, lastIdsB).add(nn.functional.linear(zBF, layer.OutWeight!, layer.OutBias), HeldScalars.One);
        var mlpIn = Config.UseLayerNorm ? LayerNorm(midBD, layer.Ln2Weight!, layer.Ln2Bias!) : midBD;
        var hidden = nn.functional.linear(mlpIn, layer.FcWeight!, layer.FcBias);
        hidden = Config.Activation == HostActivation.Relu ? nn.functional.relu(hidden) : GeluNew(hidden);
        return midBD.add(nn.functional.linear(hidden, layer.ProjWeight!, layer.ProjBias), HeldScalars.One);
    }

    /// <summary>Copies weights given by Hugging Face name into this model; every parameter must be present with its exact shape.</summary>
    /// <exception cref="SaeSharpException">A weight is missing, has the wrong shape or is not finite; <paramref name="origin"/> names the source.</exception>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> weights, string origin)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in _weights)
        {
            if (!weights.TryGetValue(name, out var source))
                throw new SaeSharpException($"weight is missing (expected shape [{string.Join(", ", parameter.shape)}])", origin, name);
            if (!source.shape.SequenceEqual(parameter.shape))
                throw new SaeSharpException($"has shape [{string.Join(", ", source.shape)}] but the configuration needs [{string.Join(", ", parameter.shape)}]", origin, name);
            using var asFloat = source.to_type(ScalarType.Float32);
            if (!asFloat.isfinite().all().item<bool>())
                throw new SaeSharpException("holds non-finite values", origin, name);
            parameter.copy_(asFloat);
        }
    }

    /// <summary>
    /// Builds a model from a Hugging Face GPT-Neo style <c>model.safetensors</c> (F32, F16 or BF16).
    /// <c>lm_head.weight</c> may be absent when the unembedding is tied (it must then equal <c>wte</c> if present);
    /// the old GPT-Neo attention mask buffers (<c>attn.attention.bias</c>, <c>masked_bias</c>) are ignored.
    /// </summary>
    /// <exception cref="SaeSharpException">The file is unreadable, or a weight is missing, unknown or misshaped.</exception>
    public static HostTransformer FromSafeTensors(string path, HostConfig config)
    {
        var contents = SafeTensorsFile.Read(path);
        var model = new HostTransformer(config);
        var expected = model._weights.Keys.ToHashSet(StringComparer.Ordinal);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, entry) in contents.Tensors)
            {
                if (expected.Contains(name))
                {
                    if (entry.DType is not (SafeTensorDType.F32 or SafeTensorDType.F16 or SafeTensorDType.BF16))
                        throw new SaeSharpException($"has dtype {entry.DType}; weights must be F32, F16 or BF16", path, name);
                    tensors[name] = entry.ToTensor();
                }
                else if (HostNames.IsIgnoredBuffer(name) || (config.TiedUnembedding && name == HostNames.LmHead))
                {
                    continue;
                }
                else
                {
                    throw new SaeSharpException("is not a weight of this configuration (wrong config, or not a GPT-Neo checkpoint?)", path, name);
                }
            }
            model.LoadWeights(tensors, path);
            if (config.TiedUnembedding && contents.Tensors.TryGetValue(HostNames.LmHead, out var head))
            {
                using var headTensor = head.ToTensor().to_type(ScalarType.Float32);
                if (!headTensor.shape.SequenceEqual(model._wte.shape) || !headTensor.allclose(model._wte, rtol: 0, atol: 0))
                    throw new SaeSharpException("differs from transformer.wte.weight but the configuration ties the unembedding", path, HostNames.LmHead);
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return model;
    }

    /// <summary>Writes every weight under its Hugging Face name to a safetensors file (F32), atomically.</summary>
    public void SaveSafeTensors(string path) => SafeTensorsFile.Write(path, NamedWeights());

    /// <summary>The file names of a host folder: the configuration and the weights.</summary>
    public const string ConfigFileName = "host.json", WeightsFileName = "model.safetensors";

    /// <summary>Writes a host folder: <c>host.json</c> (the configuration) and <c>model.safetensors</c> (Hugging Face names), each atomically.</summary>
    public void SaveFolder(string folder)
    {
        Directory.CreateDirectory(folder);
        SaveSafeTensors(Path.Combine(folder, WeightsFileName));
        SaeSharp.IO.AtomicFile.WriteAllText(Path.Combine(folder, ConfigFileName), Config.ToJson());
    }

    /// <summary>Loads a host folder written by <see cref="SaveFolder"/>.</summary>
    /// <exception cref="SaeSharpException">A file is missing or invalid; the message names it.</exception>
    public static HostTransformer LoadFolder(string folder)
    {
        var configPath = Path.Combine(folder, ConfigFileName);
        string json;
        try
        {
            json = File.ReadAllText(configPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SaeSharpException($"cannot read the host configuration: {e.Message}", configPath, inner: e);
        }
        return FromSafeTensors(Path.Combine(folder, WeightsFileName), HostConfig.FromJson(json, configPath));
    }

    private Parameter Add(string name, Tensor value)
    {
        var parameter = new Parameter(value, requires_grad: true);
        _weights.Add(name, parameter);
        register_parameter(name.Replace('.', '_'), parameter);
        return parameter;
    }

    private static Tensor Normal(long[] shape, double std, Generator generator)
    {
        using var unit = randn(shape, generator: generator);
        return unit.mul(std);
    }

    private void CheckInput(Tensor inputIdsBT)
    {
        if (inputIdsBT.dtype != ScalarType.Int64)
            throw new SaeSharpException($"input ids have dtype {inputIdsBT.dtype}; expected Int64", field: "input_ids");
        if (inputIdsBT.dim() != 2 || inputIdsBT.shape[1] < 1)
            throw new SaeSharpException($"input ids have shape [{string.Join(", ", inputIdsBT.shape)}]; expected [batch, sequence] with sequence ≥ 1", field: "input_ids");
        if (inputIdsBT.shape[1] > Config.ContextLength)
            throw new SaeSharpException($"sequence length {inputIdsBT.shape[1]} exceeds the context length {Config.ContextLength}", field: "input_ids");
        if (inputIdsBT.NumberOfElements > 0)
        {
            long min = inputIdsBT.min().item<long>(), max = inputIdsBT.max().item<long>();
            if (min < 0 || max >= Config.VocabSize)
                throw new SaeSharpException($"token ids span [{min}, {max}]; the vocabulary is [0, {Config.VocabSize})", field: "input_ids");
        }
    }

    private void CheckHookPoints(HostHooks hooks)
    {
        foreach (var point in hooks.Points)
        {
            bool known = false;
            for (int i = 0; i < _layers.Length && !known; i++)
                known = point == HostHooks.ResidPre(i) || point == HostHooks.ResidMid(i) || point == HostHooks.ResidPost(i);
            if (!known)
                throw new SaeSharpException($"is not a hook point of this {_layers.Length}-layer model (resid_pre.i, resid_mid.i or resid_post.i, i in 0..{_layers.Length - 1})", field: point);
        }
    }

    private static Tensor ApplyHook(HostHooks? hooks, string point, Tensor xBTD)
    {
        if (hooks is null || !hooks.TryGet(point, out var function)) return xBTD;
        var result = function(xBTD);
        if (!result.shape.SequenceEqual(xBTD.shape))
            throw new SaeSharpException($"hook returned shape [{string.Join(", ", result.shape)}]; expected [{string.Join(", ", xBTD.shape)}]", field: point);
        return result;
    }

    /// <summary>Token plus position embeddings <c>[B, T, D]</c>, the first token at position <paramref name="start"/>.</summary>
    private Tensor Embed(Tensor inputIdsBT, long start = 0)
    {
        long t = inputIdsBT.shape[1];
        return _wte.index_select(0, inputIdsBT.reshape(-1)).reshape(inputIdsBT.shape[0], t, Config.ModelDim)
            .add(_wpe.narrow(0, start, t), HeldScalars.One);
    }

    private Tensor Unembed(Tensor xBTD) => nn.functional.linear(FinalNorm(xBTD), UnembeddingWeight);

    private Tensor FinalNorm(Tensor x) => Config.UseLayerNorm ? LayerNorm(x, _lnFWeight!, _lnFBias!) : x;

    private Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias) =>
        nn.functional.layer_norm(x, [Config.ModelDim], weight, bias, Config.LayerNormEps);

    /// <summary>
    /// One block; queries (and the block's output) cover positions queryStart..T−1 only. The stream between
    /// attention and MLP goes through <paramref name="hooks"/> at <paramref name="midPoint"/> when given. With a
    /// <paramref name="cache"/>, <paramref name="xBTD"/> holds the new positions only and attention also reads the
    /// cached keys of layer <paramref name="index"/>.
    /// </summary>
    private Tensor Block(HostLayer layer, Tensor xBTD, long queryStart, HostHooks? hooks = null, string? midPoint = null,
        LoraAdapters? adapters = null, int index = -1, HostKvCache? cache = null)
    {
        var attnIn = Config.UseLayerNorm ? LayerNorm(xBTD, layer.Ln1Weight!, layer.Ln1Bias!) : xBTD;
        var residBQD = queryStart == 0 ? xBTD : xBTD.narrow(1, queryStart, xBTD.shape[1] - queryStart);
        // Incremental decoding (a key/value cache) serves sampling from the plain model; adapters are merged first.
        var attention = cache is null ? Attention(layer, attnIn, queryStart, adapters, index) : CachedAttention(layer, attnIn, cache, index);
        var mid = residBQD.add(attention, HeldScalars.One);
        if (midPoint is not null) mid = ApplyHook(hooks, midPoint, mid);
        var mlpIn = Config.UseLayerNorm ? LayerNorm(mid, layer.Ln2Weight!, layer.Ln2Bias!) : mid;
        var hidden = Project(mlpIn, layer.FcWeight!, layer.FcBias, adapters, index, LoraAdapters.Fc);
        hidden = Config.Activation == HostActivation.Relu ? nn.functional.relu(hidden) : GeluNew(hidden);
        return mid.add(Project(hidden, layer.ProjWeight!, layer.ProjBias, adapters, index, LoraAdapters.Proj), HeldScalars.One);
    }

    /// <summary>x·Wᵀ + b, plus the adapter's low-rank update where one targets this projection.</summary>
    private static Tensor Project(Tensor x, Tensor weight, Tensor? bias, LoraAdapters? adapters, int index, string module)
    {
        var y = nn.functional.linear(x, weight, bias);
        return adapters is not null && adapters.TryGet(index, module, out var adapter) ? y.add(adapter.forward(x), HeldScalars.One) : y;
    }

    private Tensor Attention(HostLayer layer, Tensor xBTD, long queryStart, LoraAdapters? adapters = null, int index = -1)
    {
        long b = xBTD.shape[0], t = xBTD.shape[1], q = t - queryStart;
        int h = Config.HeadCount, dh = Config.HeadDim;
        var queryIn = queryStart == 0 ? xBTD : xBTD.narrow(1, queryStart, q);
        var qBHQd = Project(queryIn, layer.QWeight!, layer.QBias, adapters, index, LoraAdapters.Q).view(b, q, h, dh).transpose(1, 2);
        var kBHTd = Project(xBTD, layer.KWeight!, layer.KBias, adapters, index, LoraAdapters.K).view(b, t, h, dh).transpose(1, 2);
        var vBHTd = Project(xBTD, layer.VWeight!, layer.VBias, adapters, index, LoraAdapters.V).view(b, t, h, dh).transpose(1, 2);
        var scoresBHQT = qBHQd.matmul(kBHTd.transpose(2, 3));
        scoresBHQT = ScaleScores(scoresBHQT);
        var scoresMasked = scoresBHQT.masked_fill(Mask(layer.Attention, queryStart, t).logical_not(), HeldScalars.FloatMin);
        var zBHQd = scoresMasked.softmax(-1).matmul(vBHTd);
        var zBQF = zBHQd.transpose(1, 2).reshape(b, q, h * dh);
        return Project(zBQF, layer.OutWeight!, layer.OutBias, adapters, index, LoraAdapters.Out);
    }

    /// <summary>
    /// Attention of the new positions <c>[B, N, D]</c> (absolute positions Length..Length+N−1) over the cached keys and
    /// their own, with the same mask as the full forward: the plain path's query rows for these positions.
    /// </summary>
    private Tensor CachedAttention(HostLayer layer, Tensor xBND, HostKvCache cache, int layerIndex)
    {
        long b = xBND.shape[0], n = xBND.shape[1], past = cache.Length, t = past + n;
        int h = Config.HeadCount, dh = Config.HeadDim;
        var qBHNd = nn.functional.linear(xBND, layer.QWeight!, layer.QBias).view(b, n, h, dh).transpose(1, 2);
        var kBHNd = nn.functional.linear(xBND, layer.KWeight!, layer.KBias).view(b, n, h, dh).transpose(1, 2);
        var vBHNd = nn.functional.linear(xBND, layer.VWeight!, layer.VBias).view(b, n, h, dh).transpose(1, 2);
        var (kBHTd, vBHTd) = cache.Append(layerIndex, kBHNd, vBHNd);
        var scoresBHNT = ScaleScores(qBHNd.matmul(kBHTd.transpose(2, 3)));
        var scoresMasked = scoresBHNT.masked_fill(Mask(layer.Attention, past, t).logical_not(), HeldScalars.FloatMin);
        var zBHNd = scoresMasked.softmax(-1).matmul(vBHTd);
        var zBNF = zBHNd.transpose(1, 2).reshape(b, n, h * dh);
        return nn.functional.linear(zBNF, layer.OutWeight!, layer.OutBias);
    }

    /// <summary>Attention scores divided by √d_head where the config scales them (GPT-Neo does not).</summary>
    private Tensor ScaleScores(Tensor scores)
    {
        if (!Config.ScaleAttention) return scores;
        using var scale = (1.0 / Math.Sqrt(Config.HeadDim)).ToScalar();
        return scores.mul(scale);
    }

    /// <summary>bool <c>[Q, T]</c>: query i (absolute position queryStart + i) may see key j.</summary>
    internal static Tensor Mask(HostAttention attention, long queryStart, long t)
    {
        var rowsQ1 = arange(queryStart, t, dtype: ScalarType.Int64).unsqueeze(1);
        var cols1T = arange(0, t, dtype: ScalarType.Int64).unsqueeze(0);
        var mask = cols1T.le(rowsQ1);
        if (attention.Window is { } window)
        {
            using var windowScalar = window.ToScalar();
            mask = mask.logical_and(cols1T.gt(rowsQ1.sub(windowScalar)));
        }
        return mask;
    }

    /// <summary>Hugging Face's NewGELUActivation, written out so that the ONNX export computes the same formula.</summary>
    internal static Tensor GeluNew(Tensor x)
    {
        var inner = x.add(x.pow(HeldScalars.Three).mul(HeldScalars.GeluCubic), HeldScalars.One).mul(HeldScalars.GeluScale);
        return x.mul(HeldScalars.Half).mul(inner.tanh().add(HeldScalars.One, HeldScalars.One));
    }
}
