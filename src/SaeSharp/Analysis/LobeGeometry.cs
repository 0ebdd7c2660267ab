using SaeSharp.Internals;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Analysis;

/// <summary>
/// Lobe-scale geometry after Li et al. ("The Geometry of Concepts", 2024): latents that fire in the same blocks of
/// tokens are grouped by spectral clustering of a co-occurrence affinity, the same latents are grouped by the angles
/// between their decoder directions, and the adjusted mutual information (AMI) of the two groupings says how far
/// "fires together" is "points together". A shuffled null (co-occurrence clusters permuted across latents) gives the
/// AMI of unrelated groupings, about 0.
/// </summary>
/// <remarks>
/// Over blocks of <see cref="LobeOptions.BlockSize"/> consecutive rows, a latent fired in a block when it was positive
/// on some row of it. With n the number of blocks, n_i those where latent i fired and n_ij those where i and j both did:
/// phi = (n·n_ij − n_i·n_j) / √(n_i(n − n_i)·n_j(n − n_j)) (negative values clipped to 0 for the affinity), Jaccard =
/// n_ij / (n_i + n_j − n_ij). Only latents that fire in some but not every block have a phi; of those the
/// <see cref="LobeOptions.MaxLatents"/> firing most often are clustered. Eigenvectors come from
/// <c>torch.linalg.eigh</c>, clusters from seeded k-means. Memory: the block-by-latent firing matrix in float32.
/// </remarks>
public static class LobeGeometry
{
    /// <summary>Clusters the latents by co-occurrence and by decoder direction and compares the two.</summary>
    /// <param name="latents">Latent activations of consecutive rows (their order defines the blocks).</param>
    /// <param name="decoderLD">Decoder rows <c>[L, D]</c> of the same latents (<see cref="Sae.DecoderWeights"/>).</param>
    /// <param name="options">Blocks and clusters; null takes the defaults.</param>
    /// <exception cref="SaeSharpException">
    /// The decoder does not have one row per latent or is not finite; fewer than 2 blocks; fewer latents that fire in
    /// some but not every block than clusters; a decoder row of zero length among the clustered latents.
    /// </exception>
    public static LobeResult Analyze(LatentActivations latents, Tensor decoderLD, LobeOptions? options = null)
    {
        options = (options ?? new LobeOptions()).Validate();
        if (decoderLD.dim() != 2 || decoderLD.shape[0] != latents.LatentCount || !decoderLD.is_floating_point())
            throw new SaeSharpException(
                $"the decoder has shape [{string.Join(", ", decoderLD.shape)}] but there are {latents.LatentCount} latents: expected a floating [{latents.LatentCount}, D] matrix",
                field: "decoder");
        long blocks = latents.RowCount / options.BlockSize;
        if (blocks < 2)
            throw new SaeSharpException(
                $"{latents.RowCount} rows make {blocks} block(s) of {options.BlockSize}; co-occurrence needs at least 2 blocks (pass at least {2 * options.BlockSize} rows or a smaller block)",
                field: "rows");

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var firedML = Fired(latents, blocks, options.BlockSize);
        var countsL = firedML.sum([0L]).contiguous().data<double>().ToArray();
        int[] chosen = [.. Enumerable.Range(0, countsL.Length).Where(i => countsL[i] > 0 && countsL[i] < blocks)
            .OrderByDescending(i => countsL[i]).ThenBy(i => i).Take(options.MaxLatents)];
        if (chosen.Length < options.Clusters)
            throw new SaeSharpException(
                $"only {chosen.Length} latents fire in some but not every one of the {blocks} blocks, fewer than the {options.Clusters} clusters; pass more rows, smaller blocks or fewer clusters",
                field: "latents");

        using var index = tensor(chosen.Select(i => (long)i).ToArray());
        var fired = firedML.index_select(1, index);
        int u = chosen.Length;
        var n1 = fired.sum([0L]).contiguous().data<double>().ToArray();
        var n11 = fired.t().matmul(fired).contiguous().data<double>().ToArray();
        double m = blocks;
        var phi = new double[u * u];
        var jaccard = new double[u * u];
        for (int i = 0; i < u; i++)
            for (int j = 0; j < u; j++)
            {
                double both = n11[i * u + j];
                // Every chosen latent fires in some but not all blocks, so both factors under the root are positive.
                phi[i * u + j] = Math.Max(0, (m * both - n1[i] * n1[j]) / Math.Sqrt(n1[i] * (m - n1[i]) * n1[j] * (m - n1[j])));
                jaccard[i * u + j] = both / (n1[i] + n1[j] - both);
            }

        var decoder = decoderLD.detach().index_select(0, index.to(decoderLD.device)).to(ScalarType.Float64).cpu();
        if (!decoder.isfinite().all().item<bool>()) throw new SaeSharpException("the decoder is not finite (NaN or ±∞)", field: "decoder");
        var norms = decoder.norm(1, keepdim: true);
        if (norms.min().item<double>() <= 0)
            throw new SaeSharpException("a clustered latent's decoder row has zero length, so it has no direction", field: "decoder");
        var unit = decoder.div(norms);
        var cosine = unit.matmul(unit.t()).contiguous().data<double>().ToArray();
        var angular = cosine.Select(c => 1 - Math.Acos(Math.Clamp(c, -1, 1)) / Math.PI).ToArray();

        using var phiAffinity = tensor(phi, [u, u]);
        using var jaccardAffinity = tensor(jaccard, [u, u]);
        using var angularAffinity = tensor(angular, [u, u]);
        var phiClusters = SpectralClustering.Cluster(phiAffinity, options.Clusters, options.Seed);
        var jaccardClusters = SpectralClustering.Cluster(jaccardAffinity, options.Clusters, options.Seed);
        var geometricClusters = SpectralClustering.Cluster(angularAffinity, options.Clusters, options.Seed);
        var random = new Random(options.Seed);
        double phiNull = NullAmi(phiClusters, geometricClusters, options.NullPermutations, random);
        double jaccardNull = NullAmi(jaccardClusters, geometricClusters, options.NullPermutations, random);

        var affinity = new double[u, u];
        Buffer.BlockCopy(phi, 0, affinity, 0, phi.Length * sizeof(double));
        return new LobeResult((int)blocks, chosen, phiClusters, geometricClusters,
            ClusterAgreement.AdjustedMutualInformation(phiClusters, geometricClusters), phiNull,
            ClusterAgreement.AdjustedMutualInformation(jaccardClusters, geometricClusters), jaccardNull, affinity);
    }

    // [blocks, L] float64, 1 where the latent was positive on some row of the block.
    private static Tensor Fired(LatentActivations latents, long blocks, int blockSize)
    {
        var counts = zeros(blocks, latents.LatentCount, dtype: ScalarType.Float32);
        long used = blocks * blockSize;
        foreach (var (start, batchBL) in latents.Batches())
        {
            if (start >= used) break;
            using var scope = NewDisposeScope();
            long length = Math.Min(batchBL.shape[0], used - start);
            using var blockSizeScalar = ((long)blockSize).ToScalar();
            var blockOfRow = arange(start, start + length, dtype: ScalarType.Int64).div(blockSizeScalar, RoundingMode.floor);
            counts.index_add_(0, blockOfRow, batchBL.narrow(0, 0, length).gt(HeldScalars.Zero).to(ScalarType.Float32), HeldScalars.One);
        }
        return counts.gt(HeldScalars.Zero).to(ScalarType.Float64);
    }

    private static double NullAmi(int[] shuffled, int[] fixedClusters, int permutations, Random random)
    {
        var copy = (int[])shuffled.Clone();
        double total = 0;
        for (int p = 0; p < permutations; p++)
        {
            random.Shuffle(copy);
            total += ClusterAgreement.AdjustedMutualInformation(copy, fixedClusters);
        }
        return total / permutations;
    }
}
