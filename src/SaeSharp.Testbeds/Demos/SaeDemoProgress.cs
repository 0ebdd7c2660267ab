namespace SaeSharp.Testbeds.Demos;

/// <summary>Where <see cref="SaeDemo.RunAsync"/> or <see cref="StoryDemo.RunAsync"/> is: the stage, the units done of the stage's total, and an optional status line.</summary>
/// <param name="Stage">The stage: one of <see cref="SaeDemo.Stages"/> (<c>host</c>, <c>export</c>, <c>harvest</c>, <c>sae</c>, <c>analysis</c>) or of <see cref="StoryDemo.Stages"/>.</param>
/// <param name="Done">Units done in this stage (host: optimiser steps, harvest: tokens, sae: steps; 0 for stages without units).</param>
/// <param name="Total">The stage's total units (1 for stages without units); for <c>host</c> an upper bound, since its training stops once it generalises (the status says so).</param>
/// <param name="Status">A line to show, or null.</param>
public readonly record struct SaeDemoProgress(string Stage, double Done, double Total, string? Status);
