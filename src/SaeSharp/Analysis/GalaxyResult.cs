namespace SaeSharp.Analysis;

/// <summary>The galaxy-scale geometry of a point cloud (see <see cref="GalaxyGeometry"/>).</summary>
/// <param name="Points">Points L (decoder rows).</param>
/// <param name="Dimensions">Width D.</param>
/// <param name="Eigenvalues">Eigenvalues of the points' covariance, largest first (D of them).</param>
/// <param name="FirstRank">First 1-based rank of the fit.</param>
/// <param name="LastRank">Last 1-based rank of the fit (inclusive).</param>
/// <param name="PowerLawAlpha">α of λ_r ∝ r^−α: minus the least-squares slope of log λ against log r over the range.</param>
/// <param name="AlphaLow">Lower end of α's confidence interval (Student t on the slope's standard error).</param>
/// <param name="AlphaHigh">Upper end of α's interval.</param>
/// <param name="LogIntercept">The fit's log λ at rank 1 (natural log), to draw the fitted line.</param>
/// <param name="IsotropicAlpha">α fitted the same way to an isotropic Gaussian cloud of the same L and D.</param>
/// <param name="ClusteringEntropy">
/// Entropy of the Gaussian with the points' covariance minus the Kozachenko–Leonenko (k = 1) estimate of their entropy,
/// in nats, after standardising and projecting onto <paramref name="EntropyDimensions"/> principal components; 0 for a
/// Gaussian cloud up to the estimator's bias, larger for a clustered one.
/// </param>
/// <param name="IsotropicClusteringEntropy">The same estimate on the isotropic Gaussian cloud: the estimator's bias at this L and dimension.</param>
/// <param name="EntropyDimensions">Principal components the entropy was estimated in.</param>
public sealed record GalaxyResult(
    int Points, int Dimensions, IReadOnlyList<double> Eigenvalues, int FirstRank, int LastRank,
    double PowerLawAlpha, double AlphaLow, double AlphaHigh, double LogIntercept, double IsotropicAlpha,
    double ClusteringEntropy, double IsotropicClusteringEntropy, int EntropyDimensions);
