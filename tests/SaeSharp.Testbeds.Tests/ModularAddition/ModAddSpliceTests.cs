using SaeSharp.Hosts;
using SaeSharp.Testbeds.ModularAddition;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Tests.ModularAddition;

/// <summary>The modular-addition splice, now measured by the shared SplicedEvaluator, against the plain loop it replaced.</summary>
[Collection("Torch")]
public sealed class ModAddSpliceTests
{
    [Fact]
    public void ModAddGroundTruth_Splice_EqualsReplacingTheLastPositionOnly()
    {
        const int p = 11;
        using var model = new HostTransformer(HostConfig.ModularAddition(p), seed: 3);
        using var sae = Sae.Create(new SaeConfig(model.Config.ModelDim, 64, new TopKArchitecture(8)), seed: 4);
        var actual = ModAddGroundTruth.Splice(model, sae, "resid_post.0");

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        sae.eval();
        var inputs = ModAddTask.AllInputs(p);
        var labels = ModAddTask.AllLabels(p);
        (double Loss, double Accuracy) Run(Func<Tensor, Tensor>? replaceLast)
        {
            var hooks = new HostHooks();
            if (replaceLast is not null)
                hooks.Replace("resid_post.0", x => cat([x.narrow(1, 0, x.shape[1] - 1), replaceLast(x.select(1, -1)).unsqueeze(1)], 1));
            var logitsBC = model.Forward(inputs, hooks).select(1, -1).narrow(1, 0, p);
            return (nn.functional.cross_entropy(logitsBC, labels).item<float>(), logitsBC.argmax(1).eq(labels).to(ScalarType.Float64).mean().item<double>());
        }
        var clean = Run(null);
        var spliced = Run(x => sae.forward(x).ReconBD);
        var zero = Run(x => zeros_like(x));
        Assert.Equal(clean.Loss, actual.LossClean, 5);
        Assert.Equal(spliced.Loss, actual.LossSae, 5);
        Assert.Equal(zero.Loss, actual.LossZero, 5);
        Assert.Equal(clean.Accuracy, actual.AccuracyClean);
        Assert.Equal(spliced.Accuracy, actual.AccuracySae);
        Assert.Equal(zero.Accuracy, actual.AccuracyZero);
    }
}
