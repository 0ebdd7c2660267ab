using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Testbeds.Stories;

namespace SaeSharp.Testbeds.Demos;

/// <summary>A generator label and the crosscoder latent that detects it best.</summary>
/// <param name="Name">The label.</param>
/// <param name="Reflection">Whether it is a reflection label (the behaviour only the teacher's corpus holds).</param>
/// <param name="Support">Harvested tokens carrying it.</param>
/// <param name="BestLatent">Its best latent (−1 when none fires on it).</param>
/// <param name="F1">That latent's F1 as a detector of it.</param>
/// <param name="Class">That latent's class.</param>
/// <param name="RelativeNorm">That latent's ‖d_distilled‖ / (‖d_base‖ + ‖d_distilled‖).</param>
/// <param name="OnlyLooksExclusive">Whether latent scaling flags that latent.</param>
public sealed record StoryLabelMatch(string Name, bool Reflection, long Support, int BestLatent, double F1, LatentClass Class, double RelativeNorm, bool OnlyLooksExclusive);
