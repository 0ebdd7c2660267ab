namespace SaeSharp.Cli.Demo;

/// <summary>Settings of <c>saesharp demo</c>.</summary>
/// <param name="OutputDirectory">Where the ONNX graph, store, SAE and report go.</param>
/// <param name="Quick">Fewer SAE steps (for CI); the host is the same.</param>
/// <param name="HostSeed">Seed of the modular-addition host (and its cache entry).</param>
/// <param name="RetrainHost">Train the host again even when cached.</param>
internal sealed record DemoOptions(string OutputDirectory, bool Quick, long HostSeed, bool RetrainHost)
{
    /// <summary>The residual-stream hook the SAE reads: after the host's only block.</summary>
    public const string Hook = "resid_post.0";

    /// <summary>SAE dictionary size.</summary>
    public int Latents => 128;

    /// <summary>Active latents per input.</summary>
    public int K => 8;

    /// <summary>SAE training steps.</summary>
    public int Steps => Quick ? 600 : 2500;
}
