using SaeSharp.Crosscoders.Analysis;

namespace SaeSharp.Testbeds.Demos;

/// <summary>Steering one host with one latent's decoder direction.</summary>
/// <param name="Latent">The latent.</param>
/// <param name="Class">Its class.</param>
/// <param name="Model">The host steered.</param>
/// <param name="Result">What changed.</param>
public sealed record DemoSteering(int Latent, LatentClass Class, string Model, SteeringResult Result);
