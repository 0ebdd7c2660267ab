using SaeSharp.Evaluation;
using SaeSharp.Analysis;
using SaeSharp.Hosts;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// Ground truth for SAEs on the modular-addition host: its residual stream at the <c>=</c> position over all
/// p² inputs, each latent's activation over the (a, b) grid in the 2-D Fourier basis, coverage of the host's
/// key frequencies and purity of the latents, and the host's loss with the SAE spliced in.
/// </summary>
public static class ModAddGroundTruth
{
    /// <summary>The residual stream at <paramref name="hook"/> at the <c>=</c> position for every input, rows a·p + b: <c>[p², D]</c>.</summary>
    public static Tensor ResidualAtEquals(HostTransformer model, string hook)
    {
        int p = model.Config.OutputSize;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hooks = new HostHooks().Capture(hook);
        var inputs = ModAddTask.AllInputs(p);
        model.Forward(inputs, hooks);
        if (!hooks.Captured.TryGetValue(hook, out var residualBTD))
            throw new SaeSharpException($"the host has no hook point \"{hook}\"", field: "hook");
        return residualBTD.select(1, -1).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Describes every live latent of <paramref name="sae"/> on <paramref name="activationsND"/> (the residual at
    /// <c>=</c> for all inputs, rows a·p + b, in the units the SAE reads).
    /// </summary>
    /// <param name="sae">The SAE.</param>
    /// <param name="activationsND">Activations <c>[p², D]</c>.</param>
    /// <param name="p">The modulus.</param>
    /// <param name="keyFrequencies">The host's key frequencies.</param>
    /// <param name="dominanceThreshold">
    /// Variance share the dominant key frequency must hold for a latent to count as pure (default
    /// <see cref="DefaultDominanceThreshold"/>). A sparse (ReLU'd) latent of a + b spreads part of its variance into
    /// harmonics of its frequency, so a clean latent holds well under all of it in the fundamental; a latent whose
    /// dominant frequency holds only a few percent is a mixture, not a clean one, and is not counted.
    /// </param>
    /// <param name="baselineSeed">Seed of the random directions behind <see cref="GroundTruthSummary.BaselinePurity"/>.</param>
    /// <exception cref="SaeSharpException">Shapes disagree.</exception>
    public static GroundTruthSummary Analyze(Sae sae, Tensor activationsND, int p, IReadOnlyCollection<int> keyFrequencies,
        double dominanceThreshold = DefaultDominanceThreshold, ulong baselineSeed = 0)
    {
        if (activationsND.dim() != 2 || activationsND.shape[0] != (long)p * p || activationsND.shape[1] != sae.InputDim)
            throw new SaeSharpException($"activations have shape [{string.Join(", ", activationsND.shape)}], expected [{p * p}, {sae.InputDim}]", field: "activations");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        sae.eval();
        var latentsNL = sae.Encode(activationsND.to(ScalarType.Float32));
        var firingL = latentsNL.ne(0).to(ScalarType.Float64).mean([0]);
        var firing = firingL.data<double>().ToArray();
        var keys = keyFrequencies.ToHashSet();
        var live = new List<LatentFrequency>();
        var gridsLPP = latentsNL.t().reshape(sae.LatentCount, p, p).to(ScalarType.Float64);
        for (int latent = 0; latent < sae.LatentCount; latent++)
        {
            if (firing[latent] == 0) continue;
            var (best, bestShare) = DominantFrequency(gridsLPP[latent]);
            bool isKey = keys.Contains(best);
            live.Add(new LatentFrequency(latent, firing[latent], best, bestShare, isKey, isKey && bestShare >= dominanceThreshold));
        }
        live.Sort((x, y) => y.FiringFraction.CompareTo(x.FiringFraction));
        var covered = live.Where(l => l.Pure).Select(l => l.DominantFrequency).Distinct().Order().ToArray();
        double coverage = keys.Count == 0 ? double.NaN : covered.Length / (double)keys.Count;
        double purity = live.Count == 0 ? 0 : live.Count(l => l.Pure) / (double)live.Count;
        double baseline = RandomDirectionPurity(activationsND, p, keys, dominanceThreshold, Math.Max(live.Count, 1), baselineSeed);
        return new GroundTruthSummary(p, keyFrequencies.Order().ToArray(), live, covered, coverage, purity, dominanceThreshold) { BaselinePurity = baseline };
    }

    /// <summary>The variance share a latent's dominant key frequency must hold by default for the latent to count as pure.</summary>
    public const double DefaultDominanceThreshold = 0.2;

    /// <summary>The dominant frequency of a latent's grid <c>[p, p]</c> and its share of the variance (constant component excluded).</summary>
    private static (int Frequency, double Share) DominantFrequency(Tensor gridPP)
    {
        var components = Fourier.ComponentFractions(gridPP);
        double variance = 1 - components.Constant;
        // A constant latent has no variance to split: frequency 1 with share 0, as for any all-zero spectrum.
        if (variance <= 1e-12) return (1, 0.0);
        var (best, share) = components.Dominant();
        return (best, share / variance);
    }

    /// <summary>
    /// Purity under the same rule of <paramref name="count"/> latents that learned nothing: ReLUs of random directions
    /// through the centred activations. The residual stream itself lives mostly in the key frequencies, so random
    /// directions are often "pure" too; an SAE's purity means something only above this.
    /// </summary>
    private static double RandomDirectionPurity(Tensor activationsND, int p, HashSet<int> keys, double threshold, int count, ulong seed)
    {
        using var scope = NewDisposeScope();
        using var generator = new TorchSharp.torch.Generator(seed);
        var xND = activationsND.to(ScalarType.Float32);
        var centredND = xND.sub(xND.mean([0], keepdim: true));
        var directionsDL = randn([xND.shape[1], count], generator: generator);
        var latentsNL = nn.functional.relu(centredND.matmul(directionsDL));
        var gridsLPP = latentsNL.t().reshape(count, p, p).to(ScalarType.Float64);
        int live = 0, pure = 0;
        for (int latent = 0; latent < count; latent++)
        {
            if (!gridsLPP[latent].ne(0).any().item<bool>()) continue;
            live++;
            var (best, share) = DominantFrequency(gridsLPP[latent]);
            if (keys.Contains(best) && share >= threshold) pure++;
        }
        return live == 0 ? double.NaN : pure / (double)live;
    }

    /// <summary>
    /// The host's loss and accuracy over all p² inputs with the residual stream at <paramref name="hook"/>, at the
    /// <c>=</c> position, left alone, replaced by <paramref name="sae"/>'s reconstruction (the SAE reads raw
    /// activations, as a loaded checkpoint does), or replaced by zeros.
    /// </summary>
    public static SplicedLoss Splice(HostTransformer model, Sae sae, string hook)
    {
        int p = model.Config.OutputSize;
        long[] inputs, labels;
        using (var inputsNT = ModAddTask.AllInputs(p))
        using (var labelsN = ModAddTask.AllLabels(p))
        {
            inputs = inputsNT.data<long>().ToArray();
            labels = labelsN.data<long>().ToArray();
        }
        // Each input "a b =" with its answer appended: the last prediction is the task's, the only one scored.
        int t = inputs.Length / labels.Length;
        var sequences = new long[labels.Length][];
        for (int n = 0; n < labels.Length; n++)
        {
            sequences[n] = new long[t + 1];
            Array.Copy(inputs, n * t, sequences[n], 0, t);
            sequences[n][t] = labels[n];
        }
        var result = SplicedEvaluator.Evaluate(model, sae, sequences,
            new SplicedEvaluationOptions { Hook = hook, LastPositionOnly = true, BatchSize = sequences.Length });
        return new SplicedLoss(result.CeClean, result.CeSpliced, result.CeZero, result.AccuracyClean, result.AccuracySpliced, result.AccuracyZero);
    }
}
