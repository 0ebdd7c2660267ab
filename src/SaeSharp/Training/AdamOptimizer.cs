using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeSharp.Training;

/// <summary>
/// Adam with bias correction, written out so that every training step (autograd and fused) applies the
/// same update and saves the same state: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
/// p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε).
/// </summary>
public sealed class AdamOptimizer : IDisposable
{
    /// <summary>β1, the first moment's decay.</summary>
    public const double Beta1 = 0.9;
    /// <summary>β2, the second moment's decay.</summary>
    public const double Beta2 = 0.999;
    /// <summary>ε in the denominator.</summary>
    public const double Epsilon = 1e-8;

    private readonly IReadOnlyList<(string Name, Parameter Parameter)> _parameters;
    private readonly Tensor[] _firstMoments;
    private readonly Tensor[] _secondMoments;

    /// <summary>Moments (zero) for each parameter; <c>Name</c> is the parameter's training-state name.</summary>
    public AdamOptimizer(IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        _parameters = parameters;
        _firstMoments = parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope()).ToArray();
        _secondMoments = parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Steps taken so far (t).</summary>
    public long StepCount { get; private set; }

    /// <summary>m of parameter <paramref name="index"/>, for a step that applies this update in its own kernels.</summary>
    internal Tensor FirstMoment(int index) => _firstMoments[index];

    /// <summary>v of parameter <paramref name="index"/>, for a step that applies this update in its own kernels.</summary>
    internal Tensor SecondMoment(int index) => _secondMoments[index];

    /// <summary>Counts one step whose update the caller applies itself (a fused step) and returns t for its bias corrections.</summary>
    internal long AdvanceStep() => ++StepCount;

    /// <summary>Updates every parameter from its <c>.grad</c> (parameters without a gradient are skipped).</summary>
    public void Step(double learningRate)
    {
        StepCount++;
        double correction1 = 1 - Math.Pow(Beta1, StepCount);
        double correction2 = 1 - Math.Pow(Beta2, StepCount);
        using var noGrad = no_grad();
        // Scalars are held for the calls that read them (see Internals.Scalars).
        using var beta1 = Beta1.ToScalar();
        using var oneMinusBeta1 = (1 - Beta1).ToScalar();
        using var beta2 = Beta2.ToScalar();
        using var oneMinusBeta2 = (1 - Beta2).ToScalar();
        using var secondCorrection = correction2.ToScalar();
        using var epsilon = Epsilon.ToScalar();
        using var stepSize = (-learningRate / correction1).ToScalar();
        for (int i = 0; i < _parameters.Count; i++)
        {
            var parameter = _parameters[i].Parameter;
            var grad = parameter.grad;
            if (grad is null) continue;
            using var scope = NewDisposeScope();
            _firstMoments[i].mul_(beta1).add_(grad, alpha: oneMinusBeta1);
            _secondMoments[i].mul_(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
            var denominator = _secondMoments[i].div(secondCorrection).sqrt_().add_(epsilon, HeldScalars.One);
            parameter.addcdiv_(_firstMoments[i], denominator, value: stepSize);
        }
    }

    /// <summary>The moments and step count by training-state name (<c>adam.m.NAME</c>, <c>adam.v.NAME</c>, <c>adam.step</c>).</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> State()
    {
        var state = new List<(string, Tensor)>();
        for (int i = 0; i < _parameters.Count; i++)
        {
            state.Add(($"adam.m.{_parameters[i].Name}", _firstMoments[i]));
            state.Add(($"adam.v.{_parameters[i].Name}", _secondMoments[i]));
        }
        state.Add(("adam.step", tensor(StepCount)));
        return state;
    }

    /// <summary>Restores what <see cref="State"/> returned.</summary>
    /// <exception cref="SaeSharpException">A tensor is missing or has another shape.</exception>
    public void Load(IReadOnlyDictionary<string, Tensor> state)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Count; i++)
        {
            _firstMoments[i].copy_(Required(state, $"adam.m.{_parameters[i].Name}", _firstMoments[i]));
            _secondMoments[i].copy_(Required(state, $"adam.v.{_parameters[i].Name}", _secondMoments[i]));
        }
        StepCount = TrainingState.RequiredStepCount(state);
    }

    private static Tensor Required(IReadOnlyDictionary<string, Tensor> state, string name, Tensor like) =>
        TrainingState.RequiredLike(state, name, like);

    /// <summary>Releases the moments.</summary>
    public void Dispose()
    {
        foreach (var t in _firstMoments) t.Dispose();
        foreach (var t in _secondMoments) t.Dispose();
    }
}
