namespace SaeSharp.Training;

/// <summary>Chooses the training step implementation for an SAE and a run.</summary>
internal static class TrainingStepFactory
{
    public static ITrainingStep Create(Sae sae, TrainConfig config) => config.StepKind switch
    {
        TrainingStepKind.Autograd => new AutogradTrainingStep(sae),
        TrainingStepKind.Fused => throw new SaeSharpException("the fused step is not available in this build", field: "step_kind"),
        _ => new AutogradTrainingStep(sae),
    };
}
