using TorchSharp;

namespace SaeSharp.Tests.Training.Fused;

/// <summary>A fact that runs only where TorchSharp's CUDA backend and a GPU are present.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!torch.cuda.is_available()) Skip = "needs CUDA (TorchSharp-cuda bundle and a GPU)";
    }
}
