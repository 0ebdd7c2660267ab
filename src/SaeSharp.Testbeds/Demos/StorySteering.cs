using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Demos;

/// <summary>Steering the distilled model along one latent's distilled decoder direction while it writes stories.</summary>
/// <param name="Latent">The latent (of the BatchTopK crosscoder).</param>
/// <param name="Label">The reflection label it detects best.</param>
/// <param name="Class">Its class.</param>
/// <param name="Unit">α = 1 adds this multiple of the raw direction: the latent's largest activation on the harvested rows.</param>
/// <param name="UnsteeredRate">Share of reflection sentences in the distilled model's samples without any hook.</param>
/// <param name="Rates">Per α: the share of reflection sentences in the samples (same prompts and seed at every α).</param>
public sealed record StorySteering(int Latent, string Label, LatentClass Class, double Unit, double UnsteeredRate, IReadOnlyList<StorySteeringRate> Rates);
