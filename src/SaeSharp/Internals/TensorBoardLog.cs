using SaeSharp.Training;
using TorchSharp;

namespace SaeSharp.Internals;

/// <summary>TensorBoard event files of a run's metrics records (one scalar per metric, and FVU per source when there are several).</summary>
internal sealed class TensorBoardLog(string directory)
{
    private readonly TorchSharp.Modules.SummaryWriter _writer = torch.utils.tensorboard.SummaryWriter(directory, createRunName: false);

    public void Write(TrainMetrics metrics)
    {
        int step = (int)Math.Min(metrics.Step, int.MaxValue);
        _writer.add_scalar("loss/total", (float)metrics.Loss, step);
        _writer.add_scalar("loss/mse", (float)metrics.Mse, step);
        _writer.add_scalar("loss/auxk", (float)metrics.AuxKLoss, step);
        _writer.add_scalar("loss/sparsity", (float)metrics.SparsityLoss, step);
        _writer.add_scalar("metrics/fvu", (float)metrics.Fvu, step);
        if (metrics.SourceFvu.Count > 1)
            for (int s = 0; s < metrics.SourceFvu.Count; s++)
                _writer.add_scalar($"metrics/fvu_source_{s}", (float)metrics.SourceFvu[s], step);
        _writer.add_scalar("metrics/l0", (float)metrics.L0, step);
        _writer.add_scalar("metrics/dead_fraction", (float)metrics.DeadFraction, step);
        _writer.add_scalar("metrics/dense_fraction", (float)metrics.DenseFraction, step);
        _writer.add_scalar("schedule/learning_rate", (float)metrics.LearningRate, step);
    }

}
