using SaeSharp.Training.Fused;

namespace SaeSharp.Training;

/// <summary>Chooses the training step implementation for an SAE and a run.</summary>
internal static class TrainingStepFactory
{
    public static ITrainingStep Create(Sae sae, TrainConfig config) => config.StepKind switch
    {
        TrainingStepKind.Autograd => new AutogradTrainingStep(sae),
        TrainingStepKind.Fused => new FusedTopKTrainingStep(sae),
        _ when sae.Config.Architecture.IsTopKFamily => new FusedTopKTrainingStep(sae),
        _ => new AutogradTrainingStep(sae),
    };
}
