using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Analysis;

/// <summary>
/// Steering with a crosscoder latent: add α·v to a host's residual stream at a hook, v the latent's decoder in
/// that host's source divided by the source's scale (so it is in raw activation units), and compare the output
/// distribution with the unsteered one.
/// </summary>
public static class Steering
{
    /// <summary>Latent <paramref name="latent"/>'s direction in source <paramref name="source"/>, in raw activation units, <c>[D]</c>.</summary>
    /// <exception cref="SaeSharpException">An index is out of range or the scale count does not match.</exception>
    public static Tensor LatentDirection(Crosscoder crosscoder, IReadOnlyList<double> sourceScales, int latent, int source)
    {
        if (latent < 0 || latent >= crosscoder.LatentCount) throw new SaeSharpException($"is {latent}; must be in [0, {crosscoder.LatentCount - 1}]", field: "latent");
        if (source < 0 || source >= crosscoder.SourceCount) throw new SaeSharpException($"is {source}; must be in [0, {crosscoder.SourceCount - 1}]", field: "source");
        if (sourceScales.Count != crosscoder.SourceCount) throw new SaeSharpException($"has {sourceScales.Count} entries for {crosscoder.SourceCount} sources", field: "source_scales");
        using var noGrad = no_grad();
        return crosscoder.DecoderWeightLSD[latent, source].detach().div(sourceScales[source]).clone();
    }

    /// <summary>
    /// Runs <paramref name="host"/> on <paramref name="inputIdsBT"/> with and without α·v added at <paramref name="hookPoint"/>
    /// and compares the next-token distributions.
    /// </summary>
    /// <param name="host">The host model.</param>
    /// <param name="hookPoint">A residual-stream point, e.g. <c>resid_post.0</c>.</param>
    /// <param name="directionD">v <c>[D]</c>.</param>
    /// <param name="scale">α.</param>
    /// <param name="inputIdsBT">int64 <c>[B, T]</c>.</param>
    /// <param name="lastPositionOnly">Add and measure at the last position only (the answer position of the modular-addition host) instead of at every position.</param>
    /// <param name="promotedCount">How many most-promoted tokens to report.</param>
    /// <exception cref="SaeSharpException">The direction's width differs from the host's, or the inputs or hook point are invalid.</exception>
    public static SteeringResult Steer(HostTransformer host, string hookPoint, Tensor directionD, double scale, Tensor inputIdsBT,
        bool lastPositionOnly = true, int promotedCount = 5)
    {
        if (directionD.dim() != 1 || directionD.shape[0] != host.Config.ModelDim)
            throw new SaeSharpException($"direction has shape [{string.Join(", ", directionD.shape)}], expected [{host.Config.ModelDim}]", field: "direction");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var addD = directionD.to_type(ScalarType.Float32).mul(scale);
        var baseLogits = host.Forward(inputIdsBT, null);
        var hooks = new HostHooks().Replace(hookPoint, xBTD =>
        {
            if (!lastPositionOnly) return xBTD.add(addD, HeldScalars.One);
            long t = xBTD.shape[1];
            var mask1T1 = zeros(1, t, 1, dtype: xBTD.dtype);
            mask1T1[0, t - 1, 0] = tensor(1f);
            return xBTD.add(mask1T1.mul(addD), HeldScalars.One);
        });
        var steeredLogits = host.Forward(inputIdsBT, hooks);
        if (lastPositionOnly)
        {
            baseLogits = baseLogits.select(1, -1);
            steeredLogits = steeredLogits.select(1, -1);
        }
        var baseLogProbsNC = baseLogits.reshape(-1, baseLogits.shape[^1]).to_type(ScalarType.Float64).log_softmax(1);
        var steeredLogProbsNC = steeredLogits.reshape(-1, steeredLogits.shape[^1]).to_type(ScalarType.Float64).log_softmax(1);
        var kl = baseLogProbsNC.exp().mul(baseLogProbsNC.sub(steeredLogProbsNC)).sum(1).mean().item<double>();
        var baseTopN = baseLogProbsNC.argmax(1);
        var changed = steeredLogProbsNC.argmax(1).ne(baseTopN).to_type(ScalarType.Float64).mean().item<double>();
        var baseTopP = baseLogProbsNC.gather(1, baseTopN.unsqueeze(1)).exp().mean().item<double>();
        var steeredTopP = steeredLogProbsNC.gather(1, baseTopN.unsqueeze(1)).exp().mean().item<double>();
        var changeC = steeredLogProbsNC.sub(baseLogProbsNC).mean([0]);
        int count = (int)Math.Min(promotedCount, changeC.shape[0]);
        var (values, indices) = changeC.topk(count);
        var promoted = Enumerable.Range(0, count).Select(i => ((int)indices[i].item<long>(), values[i].item<double>())).ToArray();
        return new SteeringResult(scale, directionD.to_type(ScalarType.Float64).norm().item<double>(), kl, changed, baseTopP, steeredTopP, promoted);
    }
}
