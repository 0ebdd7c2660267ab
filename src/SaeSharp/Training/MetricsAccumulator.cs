using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>Sums step results on the step's device between metric records, so reading them syncs once per record.</summary>
internal sealed class MetricsAccumulator : IDisposable
{
    private readonly Tensor _sumsS; // loss, recon, sparsity, auxk, squared error, variance, l0
    private readonly Tensor _firedL;
    private long _steps;
    private long _rows;

    public MetricsAccumulator(int latentCount)
    {
        _sumsS = zeros(7, dtype: ScalarType.Float64);
        _firedL = zeros(latentCount, dtype: ScalarType.Float64);
    }

    public void Add(StepResult result, long rows)
    {
        using var scope = NewDisposeScope();
        Tensor[] terms = [result.Loss, result.ReconLoss, result.SparsityLoss, result.AuxKLoss, result.SquaredErrorSum, result.VarianceSum, result.L0];
        var values = stack(terms.Select(t => t.to(ScalarType.Float64).cpu()).ToArray());
        _sumsS.add_(values);
        _firedL.add_(result.FiredCountsL.to(ScalarType.Float64).cpu());
        _steps++;
        _rows += rows;
    }

    public TrainMetrics Flush(long step, long tokens, double learningRate, int inputDim, Tensor tokensSinceFiredL, TrainConfig config, double elapsedSeconds)
    {
        var s = _sumsS.data<double>().ToArray();
        double steps = Math.Max(_steps, 1), rows = Math.Max(_rows, 1);
        double latents = _firedL.shape[0];
        double dense, dead;
        using (var denseMask = _firedL.div(rows).gt(config.DenseFrequency))
            dense = denseMask.sum().item<long>() / latents;
        using (var deadMask = tokensSinceFiredL.ge(config.DeadWindowTokens))
            dead = deadMask.sum().item<long>() / latents;
        var metrics = new TrainMetrics(
            step, tokens, learningRate,
            Loss: s[0] / steps, Mse: s[4] / (rows * inputDim), Fvu: s[5] > 0 ? s[4] / s[5] : double.NaN, L0: s[6] / steps,
            DeadFraction: dead, DenseFraction: dense, AuxKLoss: s[3] / steps, SparsityLoss: s[2] / steps, ElapsedSeconds: elapsedSeconds);
        _sumsS.zero_();
        _firedL.zero_();
        _steps = 0;
        _rows = 0;
        return metrics;
    }

    public void Dispose()
    {
        _sumsS.Dispose();
        _firedL.Dispose();
    }
}
