using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>Sums step results on the step's device between metric records, so reading them syncs once per record.</summary>
internal sealed class MetricsAccumulator : IDisposable
{
    private readonly Tensor _sums; // loss, recon, sparsity, auxk, l0
    private readonly Tensor _squaredErrorS;
    private readonly Tensor _varianceS;
    private readonly Tensor _firedL;
    private long _steps;
    private long _rows;

    public MetricsAccumulator(int latentCount, int sourceCount)
    {
        _sums = zeros(5, dtype: ScalarType.Float64);
        _squaredErrorS = zeros(sourceCount, dtype: ScalarType.Float64);
        _varianceS = zeros(sourceCount, dtype: ScalarType.Float64);
        _firedL = zeros(latentCount, dtype: ScalarType.Float64);
    }

    public void Add(StepResult result, long rows)
    {
        using var scope = NewDisposeScope();
        Tensor[] terms = [result.Loss, result.ReconLoss, result.SparsityLoss, result.AuxKLoss, result.L0];
        _sums.add_(stack(terms.Select(t => t.to(ScalarType.Float64).cpu()).ToArray()), HeldScalars.One);
        // A single-source step reports 0-dim sums; a multi-source one [S].
        _squaredErrorS.add_(result.SquaredErrorSum.to(ScalarType.Float64).cpu().reshape(-1), HeldScalars.One);
        _varianceS.add_(result.VarianceSum.to(ScalarType.Float64).cpu().reshape(-1), HeldScalars.One);
        _firedL.add_(result.FiredCountsL.to(ScalarType.Float64).cpu(), HeldScalars.One);
        _steps++;
        _rows += rows;
    }

    public TrainMetrics Flush(long step, long tokens, double learningRate, int rowWidth, Tensor tokensSinceFiredL, TrainConfig config, double elapsedSeconds)
    {
        var s = _sums.data<double>().ToArray();
        var errorS = _squaredErrorS.data<double>().ToArray();
        var varianceS = _varianceS.data<double>().ToArray();
        double steps = Math.Max(_steps, 1), rows = Math.Max(_rows, 1);
        double latents = _firedL.shape[0];
        double dense, dead;
        using (var denseMask = _firedL.div(rows).gt(config.DenseFrequency))
            dense = denseMask.sum().item<long>() / latents;
        using (var deadMask = tokensSinceFiredL.ge(config.DeadWindowTokens))
            dead = deadMask.sum().item<long>() / latents;
        double error = errorS.Sum(), variance = varianceS.Sum();
        var sourceFvu = errorS.Select((e, i) => varianceS[i] > 0 ? e / varianceS[i] : double.NaN).ToArray();
        var metrics = new TrainMetrics(
            step, tokens, learningRate,
            Loss: s[0] / steps, Mse: error / (rows * rowWidth), Fvu: variance > 0 ? error / variance : double.NaN, L0: s[4] / steps,
            DeadFraction: dead, DenseFraction: dense, AuxKLoss: s[3] / steps, SparsityLoss: s[2] / steps, ElapsedSeconds: elapsedSeconds,
            SourceFvu: sourceFvu);
        _sums.zero_();
        _squaredErrorS.zero_();
        _varianceS.zero_();
        _firedL.zero_();
        _steps = 0;
        _rows = 0;
        return metrics;
    }

    public void Dispose()
    {
        _sums.Dispose();
        _squaredErrorS.Dispose();
        _varianceS.Dispose();
        _firedL.Dispose();
    }
}
