namespace SaeSharp.Analysis;

/// <summary>A k-sparse probe on SAE latents: its test AUROC and the latents it read.</summary>
/// <param name="K">Latents the probe reads (fewer when the SAE has fewer latents).</param>
/// <param name="TestAuroc">AUROC of the probe's logit on the test rows.</param>
/// <param name="InverseRegularization">The C cross-validation chose.</param>
/// <param name="Latents">The chosen latents, largest scaled class-mean difference first.</param>
public sealed record SparseProbeScore(int K, double TestAuroc, double InverseRegularization, IReadOnlyList<int> Latents);
