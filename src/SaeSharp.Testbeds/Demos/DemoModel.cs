namespace SaeSharp.Testbeds.Demos;

/// <summary>One host of the demo.</summary>
/// <param name="Name">Its name in the report (<c>A</c>, <c>B</c>, <c>student</c>).</param>
/// <param name="Description">How it was made.</param>
/// <param name="KeyFrequencies">Its key frequencies, from its embedding.</param>
/// <param name="HookKeyFrequencies">The key frequencies of its activations at the demo's hook (<see cref="ModularAddition.Fourier.ActivationKeyFrequencies"/>): the truth the crosscoders are scored against.</param>
/// <param name="Accuracy">Accuracy over all p² pairs.</param>
/// <param name="FromCache">Whether it was loaded from the cache instead of trained now.</param>
public sealed record DemoModel(string Name, string Description, IReadOnlyList<int> KeyFrequencies, IReadOnlyList<int> HookKeyFrequencies, double Accuracy, bool FromCache);
