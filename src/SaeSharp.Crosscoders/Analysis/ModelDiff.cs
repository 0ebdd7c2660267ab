using static TorchSharp.torch;

namespace SaeSharp.Crosscoders.Analysis;

/// <summary>
/// Model diffing with a crosscoder (Lindsey et al. 2024; Minder et al. 2025): for each latent, the relative decoder
/// norm r = ‖d_B‖ / (‖d_A‖ + ‖d_B‖) and its histogram, the cosine between d_A and d_B, a classification into
/// shared / A-only / B-only by thresholds on r, latent scaling to flag latents that only look exclusive, and the
/// rows on which each latent fires most.
/// </summary>
/// <remarks>
/// Latent scaling: with u the latent's decoder in the source where it is larger, fit y^s ≈ β^s f u by least squares
/// for each source s, where y^s = x^s − x̂^s + f d^s is what the latent is there to explain (its own part plus what
/// the crosscoder leaves unexplained): β^s = Σ f ⟨u, y^s⟩ / (‖u‖² Σ f²). A latent that is truly exclusive to A has
/// β^B ≈ 0; one whose B decoder merely shrank (the L1 crosscoder's artifact) has β^B close to β^A.
/// </remarks>
public static class ModelDiff
{
    /// <summary>Analyses sources A and B of <paramref name="crosscoder"/> over paired rows.</summary>
    /// <param name="crosscoder">The trained crosscoder.</param>
    /// <param name="sourceScales">The factors its inputs expect, <c>[S]</c> (<see cref="LoadedCrosscoder.SourceScales"/>).</param>
    /// <param name="rowsNSD">Raw paired activations <c>[N, S, D]</c> (unscaled).</param>
    /// <param name="options">Sources, thresholds and sizes; defaults when null.</param>
    /// <exception cref="SaeSharpException">Shapes or options do not fit the crosscoder.</exception>
    public static ModelDiffResult Analyze(Crosscoder crosscoder, IReadOnlyList<double> sourceScales, Tensor rowsNSD, ModelDiffOptions? options = null)
    {
        options = (options ?? new ModelDiffOptions()).Validate(crosscoder.SourceCount);
        int s = crosscoder.SourceCount, d = crosscoder.InputDim, l = crosscoder.LatentCount;
        if (rowsNSD.dim() != 3 || rowsNSD.shape[1] != s || rowsNSD.shape[2] != d || rowsNSD.shape[0] < 1)
            throw new SaeSharpException($"rows have shape [{string.Join(", ", rowsNSD.shape)}], expected [N ≥ 1, {s}, {d}]", field: "rows");
        if (sourceScales.Count != s)
            throw new SaeSharpException($"has {sourceScales.Count} entries for {s} sources", field: "source_scales");
        int a = options.SourceA, b = options.SourceB;
        long n = rowsNSD.shape[0];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool wasTraining = crosscoder.training;
        crosscoder.eval();

        var decoderLSD = crosscoder.DecoderWeightLSD.detach().to_type(ScalarType.Float64);
        var decA = decoderLSD.select(1, a);
        var decB = decoderLSD.select(1, b);
        var normAL = decA.norm(1, keepdim: false);
        var normBL = decB.norm(1, keepdim: false);
        var useAL = normAL.ge(normBL).unsqueeze(1);
        var directionLD = where(useAL, decA, decB);
        var directionSquaredL = directionLD.pow(HeldScalars.Two).sum(1);
        var scalesS1 = tensor(sourceScales.Select(v => (float)v).ToArray()).view(1, s, 1);

        var firedL = zeros(l, dtype: ScalarType.Float64);
        var sumF2L = zeros(l, dtype: ScalarType.Float64);
        var crossAL = zeros(l, dtype: ScalarType.Float64);
        var crossBL = zeros(l, dtype: ScalarType.Float64);
        var energyAL = zeros(l, dtype: ScalarType.Float64);
        var energyBL = zeros(l, dtype: ScalarType.Float64);
        int top = (int)Math.Min(options.TopInputs, n);
        var topValuesTL = full(top, l, double.NegativeInfinity, dtype: ScalarType.Float64);
        var topRowsTL = zeros(top, l, dtype: ScalarType.Int64);

        for (long start = 0; start < n; start += options.ChunkRows)
        {
            using var chunkScope = NewDisposeScope();
            long count = Math.Min(options.ChunkRows, n - start);
            var xCSD = rowsNSD.narrow(0, start, count).to_type(crosscoder.EncoderWeightSDL.dtype).mul(scalesS1);
            var fCL = crosscoder.Encode(xCSD);
            var reconCSD = crosscoder.Decode(fCL);
            var f = fCL.to_type(ScalarType.Float64);
            var residual = xCSD.sub(reconCSD).to_type(ScalarType.Float64);
            var maskCL = f.gt(0).to_type(ScalarType.Float64);
            var f2L = f.pow(HeldScalars.Two).sum([0]);
            firedL.add_(maskCL.sum([0]), HeldScalars.One);
            sumF2L.add_(f2L, HeldScalars.One);
            Accumulate(residual.select(1, a), decA, directionLD, f, maskCL, f2L, crossAL, energyAL);
            Accumulate(residual.select(1, b), decB, directionLD, f, maskCL, f2L, crossBL, energyBL);
            if (top > 0)
            {
                var rowsCL = arange(start, start + count, dtype: ScalarType.Int64).unsqueeze(1).expand(count, l);
                var values = cat([topValuesTL, f], 0);
                var rows = cat([topRowsTL, rowsCL], 0);
                var (best, order) = values.topk(top, dim: 0);
                topValuesTL.copy_(best);
                topRowsTL.copy_(rows.gather(0, order));
            }
        }
        if (wasTraining) crosscoder.train();

        double[] Read(Tensor t) => t.contiguous().data<double>().ToArray();
        var normA = Read(normAL);
        var normB = Read(normBL);
        var cosine = Read(decA.mul(decB).sum(1).div(normAL.mul(normBL)));
        var fired = Read(firedL);
        var sumF2 = Read(sumF2L);
        var uSquared = Read(directionSquaredL);
        var crossA = Read(crossAL);
        var crossB = Read(crossBL);
        var energyA = Read(energyAL);
        var energyB = Read(energyBL);
        var topValues = Read(topValuesTL.t());
        var topRows = topRowsTL.t().contiguous().data<long>().ToArray();

        var latents = new LatentDiff[l];
        var histogram = new int[options.HistogramBins];
        for (int i = 0; i < l; i++)
        {
            double total = normA[i] + normB[i];
            double relative = total > 0 ? normB[i] / total : double.NaN;
            bool live = fired[i] > 0;
            var latentClass = !live || double.IsNaN(relative) ? LatentClass.Dead
                : relative <= options.ExclusiveLow ? LatentClass.AOnly
                : relative >= options.ExclusiveHigh ? LatentClass.BOnly
                : LatentClass.Shared;
            double denominator = uSquared[i] * sumF2[i];
            double betaA = denominator > 0 ? crossA[i] / denominator : double.NaN;
            double betaB = denominator > 0 ? crossB[i] / denominator : double.NaN;
            double FitError(double beta, double cross, double energy) =>
                energy > 0 ? (energy - 2 * beta * cross + beta * beta * denominator) / energy : double.NaN;
            bool onlyLooks = latentClass switch
            {
                LatentClass.AOnly => betaA > 0 && betaB / betaA >= options.ScalingRatioFlag,
                LatentClass.BOnly => betaB > 0 && betaA / betaB >= options.ScalingRatioFlag,
                _ => false,
            };
            var rows = new List<long>();
            var values = new List<double>();
            for (int t = 0; t < top; t++)
            {
                double value = topValues[i * top + t];
                if (!(value > 0)) break;
                rows.Add(topRows[i * top + t]);
                values.Add(value);
            }
            latents[i] = new LatentDiff(i, normA[i], normB[i], relative, cosine[i], latentClass, fired[i] / n,
                betaA, betaB, FitError(betaA, crossA[i], energyA[i]), FitError(betaB, crossB[i], energyB[i]), onlyLooks, rows, values);
            if (latentClass != LatentClass.Dead)
                histogram[Math.Min(options.HistogramBins - 1, (int)(relative * options.HistogramBins))]++;
        }
        return new ModelDiffResult(options, n, latents, histogram);
    }

    /// <summary>
    /// Adds one chunk's Σ f ⟨u, y⟩ and Σ_{f>0} ‖y‖² per latent for one source, with y = r + f d (r the residual,
    /// d the latent's decoder in this source), expanded so that no [C, L, D] tensor is formed.
    /// </summary>
    private static void Accumulate(Tensor residualCD, Tensor decoderLD, Tensor directionLD, Tensor fCL, Tensor maskCL, Tensor f2L, Tensor crossL, Tensor energyL)
    {
        var residualOnDirectionCL = residualCD.matmul(directionLD.t());
        var residualOnDecoderCL = residualCD.matmul(decoderLD.t());
        var directionDotDecoderL = directionLD.mul(decoderLD).sum(1);
        var decoderSquaredL = decoderLD.pow(HeldScalars.Two).sum(1);
        crossL.add_(fCL.mul(residualOnDirectionCL).sum([0]), HeldScalars.One).add_(f2L.mul(directionDotDecoderL), HeldScalars.One);
        var residualSquaredC1 = residualCD.pow(HeldScalars.Two).sum(1, keepdim: true);
        energyL.add_(maskCL.mul(residualSquaredC1).sum([0]), HeldScalars.One)
            .add_(fCL.mul(residualOnDecoderCL).sum([0]).mul(2), HeldScalars.One)
            .add_(f2L.mul(decoderSquaredL), HeldScalars.One);
    }
}
