using SaeSharp.Analysis;
using SaeSharp.Hosts;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>
/// The helix fit (<see cref="HelixFit"/>) on the modular-addition host: the residual stream at an operand position as a
/// helix of that operand with the host's key periods T = p / f, and activation patching of the fitted helix back into the
/// host to measure how much of the task it carries.
/// </summary>
public static class ModAddHelix
{
    /// <summary>The residual stream at <paramref name="hook"/> for every input, rows a·p + b: <c>[p², 3, D]</c> float32.</summary>
    /// <exception cref="SaeSharpException">The host has no such hook point.</exception>
    public static Tensor Residual(HostTransformer model, string hook)
    {
        int p = model.Config.OutputSize;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hooks = new HostHooks().Capture(hook);
        model.Forward(ModAddTask.AllInputs(p), hooks);
        if (!hooks.Captured.TryGetValue(hook, out var residualBTD))
            throw new SaeSharpException($"the host has no hook point \"{hook}\"", field: "hook");
        return residualBTD.detach().contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Fits the helix at each operand position of <paramref name="host"/> and patches the fits back in.</summary>
    /// <exception cref="SaeSharpException">The options are invalid, the hook is unknown, or a fit is impossible.</exception>
    public static ModAddHelixResult Analyze(ModAddResult host, ModAddHelixOptions? options = null)
    {
        options = (options ?? new ModAddHelixOptions()).Validate();
        var model = host.Model;
        int p = host.Config.P;
        var keys = host.KeyFrequencies.Frequencies.ToArray();
        var periods = keys.Select(f => (double)p / f).ToArray();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var inputsN3 = ModAddTask.AllInputs(p);
        var residualN3D = Residual(model, options.Hook);
        // The random-period null: as many periods p / f of frequencies that are not key, i.e. helices of the same kind on the wrong waves.
        var fitOptions = options.Fit.RandomPeriodCandidates is null
            ? options.Fit with { RandomPeriodCandidates = [.. Enumerable.Range(1, (p - 1) / 2).Where(f => !keys.Contains(f)).Select(f => (double)p / f)] }
            : options.Fit;
        var fits = new List<HelixFitResult>();
        foreach (int position in options.Positions)
        {
            var tokens = inputsN3.select(1, position).to_type(ScalarType.Float64).data<double>().ToArray();
            fits.Add(HelixFit.Fit(residualN3D.select(1, position), tokens, periods, fitOptions));
        }

        var (_, testPairs) = ModAddTask.Split(p, host.Config.TrainFraction, host.Config.Seed);
        var testInputs = inputsN3.index_select(0, tensor(testPairs));
        var testLabels = ModAddTask.AllLabels(p).index_select(0, tensor(testPairs));
        var positions = options.Positions.ToArray();

        Tensor Replacement(Tensor idsN3, IReadOnlyList<Func<Tensor, Tensor>> byPosition, Tensor xNTD)
        {
            var slices = Enumerable.Range(0, (int)xNTD.shape[1]).Select(t => xNTD.select(1, t)).ToArray();
            for (int i = 0; i < positions.Length; i++)
                slices[positions[i]] = byPosition[i](idsN3.select(1, positions[i])).to_type(xNTD.dtype);
            return stack(slices, 1);
        }

        double Patched(IReadOnlyList<Func<Tensor, Tensor>> byPosition) =>
            Accuracy(host, testInputs, testLabels, options.Hook, x => Replacement(testInputs, byPosition, x));

        double clean = Accuracy(host, testInputs, testLabels, options.Hook, null);
        double patched = Patched(fits.Select(f => (Func<Tensor, Tensor>)f.Model.Predict).ToArray());
        double patchedWithoutLinear = Patched(fits.Select(f => (Func<Tensor, Tensor>)f.ModelWithoutLinear.Predict).ToArray());
        var means = positions.Select(t => residualN3D.select(1, t).mean([0L])).ToArray();
        double meanAblated = Patched(means.Select(m => (Func<Tensor, Tensor>)(ids => m.unsqueeze(0).expand(ids.shape[0], -1))).ToArray());
        return new ModAddHelixResult(options.Hook, positions, keys, periods, fits, testPairs.Length, clean, patched, patchedWithoutLinear, meanAblated);
    }

    /// <summary>
    /// Accuracy on the given pairs of the logits the host's loss reads, with the residual at <paramref name="hook"/>
    /// replaced through <paramref name="replace"/> when given. A harmonic host's answer is the class vector nearest its
    /// final representation, read here from the last block's output (the host has no final LayerNorm).
    /// </summary>
    private static double Accuracy(ModAddResult host, Tensor inputsN3, Tensor labelsN, string hook, Func<Tensor, Tensor>? replace)
    {
        using var scope = NewDisposeScope();
        var model = host.Model;
        var hooks = new HostHooks();
        var last = HostHooks.ResidPost(model.Config.LayerCount - 1);
        bool harmonic = host.Config.Loss == ModAddLoss.Harmonic;
        Tensor? finalNTD = null;
        // Kept past the forward pass's own dispose scope, as HostHooks.Capture keeps its tensors.
        Tensor Last(Tensor x) => finalNTD = x.MoveToOuterDisposeScope();
        if (replace is not null && hook == last) hooks.Replace(hook, x => Last(replace(x)));
        else
        {
            if (replace is not null) hooks.Replace(hook, replace);
            if (harmonic) hooks.Replace(last, Last);
        }
        var logitsNTC = model.Forward(inputsN3, hooks);
        var logitsNC = harmonic
            ? HarmonicLoss.Logits(finalNTD!.select(1, -1), model.UnembeddingWeight, host.Config.HarmonicExponentInEffect())
            : logitsNTC.select(1, -1);
        return ModAddTrainer.Accuracy(logitsNC, labelsN);
    }
}
