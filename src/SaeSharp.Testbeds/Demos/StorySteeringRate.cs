using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Demos;

/// <summary>One α of the steering sweep.</summary>
/// <param name="Alpha">The multiple of <see cref="StorySteering.Unit"/>.</param>
/// <param name="Rate">Reflections / sentences.</param>
/// <param name="Reflections">Reflection sentences in the samples.</param>
/// <param name="Sentences">All sentences in the samples.</param>
public sealed record StorySteeringRate(double Alpha, double Rate, int Reflections, int Sentences);
