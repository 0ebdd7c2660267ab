using SaeSharp.Internals;
using SaeSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Evaluation;

/// <summary>Measures an SAE (inference rule) on rows from a source.</summary>
public static class SaeEvaluator
{
    /// <summary>Evaluates on <paramref name="batches"/> batches of <paramref name="batchSize"/> rows read from <paramref name="source"/>.</summary>
    /// <param name="sae">The SAE.</param>
    /// <param name="source">Rows to evaluate on; read from its current position.</param>
    /// <param name="batches">Number of batches, ≥ 1.</param>
    /// <param name="batchSize">Rows per batch, ≥ 1.</param>
    /// <param name="activationScale">Factor applied to rows before the SAE (1 for saved SAEs, whose weights act on raw activations).</param>
    /// <exception cref="SaeSharpException">Widths differ or counts are out of range.</exception>
    public static EvalMetrics Evaluate(Sae sae, IActivationSource source, int batches = 8, int batchSize = 4096, double activationScale = 1.0)
    {
        if (source.InputDim != sae.InputDim)
            throw new SaeSharpException($"the source yields rows of width {source.InputDim} but the SAE reads {sae.InputDim}", field: "d_in");
        if (batches < 1) throw new SaeSharpException($"batches = {batches} must be at least 1", field: "batches");
        if (batchSize < 1) throw new SaeSharpException($"batch size {batchSize} must be at least 1", field: "batch_size");
        if (source.RowCount is { } rowCount) batchSize = (int)Math.Min(batchSize, rowCount);

        sae.eval();
        using var noGrad = no_grad();
        double squaredError = 0, l0Sum = 0, cosineSum = 0;
        long rows = 0;
        var firedL = zeros(sae.LatentCount, dtype: ScalarType.Float64);
        var sumD = zeros(sae.InputDim, dtype: ScalarType.Float64);
        double sumSquares = 0;
        using var scale = activationScale.ToScalar();
        for (int b = 0; b < batches; b++)
        {
            using var scope = NewDisposeScope();
            long position = source.Position;
            var xBD = source.NextBatch(batchSize);
            // A NaN row would turn every metric into NaN without saying which row; stop and name it instead.
            NonFiniteRows.ThrowIfAny(source, xBD, position, "no metric can be computed over it");
            if (activationScale != 1.0) xBD = xBD.mul(scale);
            var latentsBL = sae.Encode(xBD);
            var reconBD = sae.Decode(latentsBL);
            squaredError += reconBD.sub(xBD).pow(HeldScalars.Two).sum().item<float>();
            var activeBL = latentsBL.ne(0);
            l0Sum += activeBL.sum().item<long>();
            firedL.add_(activeBL.sum([0]).to(ScalarType.Float64), HeldScalars.One);
            cosineSum += nn.functional.cosine_similarity(reconBD, xBD, dim: 1).sum().item<float>();
            var x64 = xBD.to(ScalarType.Float64);
            sumD.add_(x64.sum([0]), HeldScalars.One);
            sumSquares += x64.pow(HeldScalars.Two).sum().item<double>();
            rows += xBD.shape[0];
        }
        using (firedL)
        using (sumD)
        {
            // Σ‖x − x̄‖² = Σ‖x‖² − N‖x̄‖²
            double variance = sumSquares - sumD.pow(HeldScalars.Two).sum().item<double>() / rows;
            double dead = firedL.eq(0).sum().item<long>() / (double)sae.LatentCount;
            using var rowsScalar = ((double)rows).ToScalar();
            using var denseShare = 0.1.ToScalar();
            double dense = firedL.div(rowsScalar).gt(denseShare).sum().item<long>() / (double)sae.LatentCount;
            return new EvalMetrics(rows, squaredError / ((double)rows * sae.InputDim), variance > 0 ? squaredError / variance : double.NaN,
                l0Sum / rows, dead, dense, cosineSum / rows);
        }
    }
}
