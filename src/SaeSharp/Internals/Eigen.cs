using static TorchSharp.torch;

namespace SaeSharp.Internals;

/// <summary>Symmetric eigendecomposition through libtorch's LAPACK (<c>torch.linalg.eigh</c>) in float64.</summary>
internal static class Eigen
{
    /// <summary>Eigenvalues of a symmetric matrix <c>[n, n]</c>, largest first.</summary>
    public static double[] ValuesDescending(Tensor symmetricNN)
    {
        using var scope = NewDisposeScope();
        var values = linalg.eigvalsh(symmetricNN.to(ScalarType.Float64).cpu()).flip(0);
        return values.contiguous().data<double>().ToArray();
    }

    /// <summary>
    /// The <paramref name="count"/> largest eigenvalues and their eigenvectors as columns <c>[n, count]</c>
    /// (float64, CPU; the caller disposes the tensor).
    /// </summary>
    public static (double[] Values, Tensor VectorsNC) Top(Tensor symmetricNN, int count)
    {
        using var scope = NewDisposeScope();
        var (values, vectors) = linalg.eigh(symmetricNN.to(ScalarType.Float64).cpu());
        long n = values.shape[0];
        var top = values.narrow(0, n - count, count).flip(0).contiguous().data<double>().ToArray();
        var vectorsNC = vectors.narrow(1, n - count, count).flip(1).contiguous().MoveToOuterDisposeScope();
        return (top, vectorsNC);
    }
}
