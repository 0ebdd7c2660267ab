using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// The dark-matter decomposition of Engels, Riggs and Tegmark ("Decomposing the Dark Matter of Sparse Autoencoders",
/// 2024): the SAE error e = x − SAE(x) <c>[N, D]</c> is split into a part linearly predictable from x,
/// ê = (x − x̄)·A + b with A <c>[D, D]</c> fitted by least squares on one split of the rows, and the nonlinear rest
/// e − ê, both scored on the other split.
/// </summary>
/// <remarks>
/// Unlike the authors' code the vector regression has an intercept (the squared-norm regression has one in both), so a
/// constant error offset counts as predictable. The fits run in float64 through <c>torch.linalg.lstsq</c> on centred
/// inputs; the centred fitting rows must have full column rank D, which needs more than D fitting rows.
/// Memory: the rows, the errors and the centred inputs in float64, about 3·N·D·8 bytes.
/// </remarks>
public static class DarkMatter
{
    /// <summary>Decomposes the SAE's error on the given rows.</summary>
    /// <param name="sae">The SAE; switched to eval mode.</param>
    /// <param name="activationsND">Host activations <c>[N, D]</c>, D = <see cref="Sae.InputDim"/>, in random order.</param>
    /// <param name="options">Split and batching; null takes the defaults.</param>
    /// <exception cref="SaeSharpException">
    /// Wrong shape, non-finite rows, too few rows for a fit (the fitting split needs more than D + 1 rows, the scoring
    /// split at least 2), or fitting rows whose centred matrix is rank-deficient (a constant or duplicated dimension).
    /// </exception>
    public static DarkMatterResult Analyze(Sae sae, Tensor activationsND, DarkMatterOptions? options = null)
    {
        options = (options ?? new DarkMatterOptions()).Validate();
        if (activationsND.dim() != 2 || activationsND.shape[1] != sae.InputDim)
            throw new SaeSharpException($"rows have shape [{string.Join(", ", activationsND.shape)}], expected [N, {sae.InputDim}]", field: "activations");
        if (!activationsND.is_floating_point())
            throw new SaeSharpException($"expected floating-point rows, got {activationsND.dtype}", field: "activations");
        long n = activationsND.shape[0], d = sae.InputDim;
        long fitRows = (long)Math.Floor(n * options.FitFraction), scoreRows = n - fitRows;
        if (fitRows <= d + 1 || scoreRows < 2)
            throw new SaeSharpException(
                $"{n} rows are too few: fitting a linear map of width {d} needs more than {d + 1} fitting rows and 2 scoring rows " +
                $"(fit fraction {options.FitFraction} gives {fitRows} and {scoreRows}); pass at least {(long)Math.Ceiling((d + 2) / options.FitFraction) + 2} rows",
                field: "rows");

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var xND = activationsND.detach().to(ScalarType.Float64).cpu();
        if (!xND.isfinite().all().item<bool>())
            throw new SaeSharpException("activations are not finite (NaN or ±∞)", field: "activations");
        var eND = Errors(sae, activationsND, options);

        var xFit = xND.narrow(0, 0, fitRows);
        var eFit = eND.narrow(0, 0, fitRows);
        var xScore = xND.narrow(0, fitRows, scoreRows);
        var eScore = eND.narrow(0, fitRows, scoreRows);

        // Centring the inputs on the fitting mean makes the intercept the fitting mean of the target and leaves the
        // slope to a plain least-squares problem whose rank says whether the fit is determined.
        var meanD = xFit.mean([0L], keepdim: true);
        var xFitC = xFit.sub(meanD);
        var xScoreC = xScore.sub(meanD);
        CheckRank(xFitC, d);

        var normFit = eFit.pow(HeldScalars.Two).sum(1, keepdim: true);
        var normScore = eScore.pow(HeldScalars.Two).sum(1, keepdim: true);
        var targetsFit = cat([eFit, normFit], 1);
        var (solution, _, _, _) = linalg.lstsq(xFitC, targetsFit.sub(targetsFit.mean([0L], keepdim: true)));
        var predicted = xScoreC.matmul(solution).add(targetsFit.mean([0L], keepdim: true), HeldScalars.One);
        var eHat = predicted.narrow(1, 0, d);
        var normHat = predicted.narrow(1, d, 1);

        double residual = eScore.sub(eHat).pow(HeldScalars.Two).sum().item<double>();
        double errorSquares = eScore.pow(HeldScalars.Two).sum().item<double>();
        double errorVariance = eScore.sub(eScore.mean([0L], keepdim: true)).pow(HeldScalars.Two).sum().item<double>();
        double normResidual = normScore.sub(normHat).pow(HeldScalars.Two).sum().item<double>();
        double normVariance = normScore.sub(normScore.mean()).pow(HeldScalars.Two).sum().item<double>();
        double inputVariance = xScore.sub(xScore.mean([0L], keepdim: true)).pow(HeldScalars.Two).sum().item<double>();
        if (errorVariance <= 0 || normVariance <= 0)
            throw new SaeSharpException("the SAE's error is constant on the scoring rows, so there is nothing to decompose", field: "activations");
        if (inputVariance <= 0)
            throw new SaeSharpException("the scoring rows are all equal", field: "activations");

        return new DarkMatterResult(
            fitRows, scoreRows,
            LinearErrorR2: 1 - residual / errorVariance,
            NormR2: 1 - normResidual / normVariance,
            NonlinearFraction: residual / errorSquares,
            Fvu: errorSquares / inputVariance,
            FvuWithLinear: residual / inputVariance);
    }

    // e = x − SAE(x) in float64, the SAE run in its own dtype and device a batch at a time.
    private static Tensor Errors(Sae sae, Tensor activationsND, DarkMatterOptions options)
    {
        sae.eval();
        long n = activationsND.shape[0];
        var parts = new List<Tensor>();
        using var scale = options.ActivationScale.ToScalar();
        for (long start = 0; start < n; start += options.BatchSize)
        {
            long length = Math.Min(options.BatchSize, n - start);
            var xBD = activationsND.narrow(0, start, length).to(sae.DecoderWeights.dtype).to(sae.DecoderWeights.device);
            // The SAE sees scaled rows; its reconstruction is mapped back so that e is in the rows' own units.
            var inputBD = options.ActivationScale == 1.0 ? xBD : xBD.mul(scale);
            var reconBD = sae.Decode(sae.Encode(inputBD));
            if (options.ActivationScale != 1.0) reconBD = reconBD.div(scale);
            parts.Add(xBD.to(ScalarType.Float64).cpu().sub(reconBD.to(ScalarType.Float64).cpu()));
        }
        var eND = cat(parts, 0);
        if (!eND.isfinite().all().item<bool>())
            throw new SaeSharpException("the SAE's reconstruction is not finite (NaN or ±∞)", field: "sae");
        return eND;
    }

    private static void CheckRank(Tensor xFitCentredND, long d)
    {
        // Relative to the largest singular value, as numpy's matrix_rank: a column that is constant (zero after
        // centring) or a copy of another leaves a singular value at rounding level.
        var singular = linalg.svdvals(xFitCentredND);
        double largest = singular.max().item<double>();
        double tolerance = largest * Math.Max(xFitCentredND.shape[0], d) * 2.220446049250313e-16;
        using var tol = tolerance.ToScalar();
        long rank = singular.gt(tol).sum().item<long>();
        if (largest <= 0 || rank < d)
            throw new SaeSharpException(
                $"the fitting rows are rank-deficient: their centred matrix has rank {rank} of {d} (a constant or linearly dependent dimension), so the linear map is not determined",
                field: "activations");
    }
}
