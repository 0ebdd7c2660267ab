namespace SaeSharp.Testbeds.ModularAddition;

/// <summary>How circular the number embedding is at one key frequency (<see cref="ModAddGeometry"/>).</summary>
/// <param name="Frequency">The frequency f.</param>
/// <param name="NormFraction">Its share of the embedding's squared norm.</param>
/// <param name="Circularity">
/// R² of the embedding's projection on the frequency's cos/sin plane by a circle, z_a ≈ λ·e^(±2πifa/p) (a scaled
/// rotation, either orientation): 1 for points evenly spaced on a circle, 0.5 or less for a flat ellipse or a cloud.
/// </param>
/// <param name="AxisRatio">Minor over major axis of the projected points' ellipse (1: a circle).</param>
public sealed record EmbeddingCircle(int Frequency, double NormFraction, double Circularity, double AxisRatio);
