using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// TorchSharp's AdamW with its step rewritten to hold every <see cref="Scalar"/> it hands to libtorch. The stock
/// step passes implicitly converted doubles (<c>param.mul_(1 − lr·λ)</c>, <c>add_(grad, alpha: 1 − β1)</c>, ...),
/// which a garbage collection during the native call can finalise (see <see cref="HeldScalars"/>); a host trained
/// for thousands of steps on a loaded machine makes that likely. The arithmetic is the stock step's, in the same
/// order, so the weights are bit-identical to <c>optim.AdamW</c>'s (a test holds it to that), and the state
/// (<c>save_state_dict</c> / <c>load_state_dict</c>, learning rates in <c>ParamGroups</c>) is the base class's.
/// AMSGrad and maximize are not offered.
/// </summary>
public sealed class HeldScalarAdamW : AdamW
{
    /// <summary>AdamW over <paramref name="parameters"/> with decoupled weight decay <paramref name="weightDecay"/>.</summary>
    public HeldScalarAdamW(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0)
        : base(parameters, learningRate, beta1, beta2, epsilon, weightDecay)
    {
    }

    /// <inheritdoc/>
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, learningRate = options.LearningRate!.Value;
        using var decay = (1 - learningRate * options.weight_decay!.Value).ToScalar();
        using var beta1Scalar = beta1.ToScalar();
        using var oneMinusBeta1 = (1 - beta1).ToScalar();
        using var beta2Scalar = beta2.ToScalar();
        using var oneMinusBeta2 = (1 - beta2).ToScalar();
        using var epsilon = options.eps!.Value.ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var state = (State)_state[parameter.Handle];
            var grad = parameter.grad;
            if (grad is null) continue;
            state.step += 1;
            parameter.mul_(decay);
            double correction1 = 1 - Math.Pow(beta1, state.step);
            double correction2 = 1 - Math.Pow(beta2, state.step);
            state.exp_avg.mul_(beta1Scalar).add_(grad, alpha: oneMinusBeta1);
            state.exp_avg_sq.mul_(beta2Scalar).addcmul_(grad, grad, value: oneMinusBeta2);
            using var rootCorrection2 = Math.Sqrt(correction2).ToScalar();
            using var denominator = state.exp_avg_sq.sqrt().div_(rootCorrection2).add_(epsilon, HeldScalars.One);
            using var stepSize = (-(learningRate / correction1)).ToScalar();
            parameter.addcdiv_(state.exp_avg, denominator, value: stepSize);
        }
    }, closure);
}
