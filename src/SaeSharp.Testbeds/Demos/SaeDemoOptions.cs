namespace SaeSharp.Testbeds.Demos;

/// <summary>Settings of <see cref="SaeDemo.RunAsync"/>. Immutable; change with <c>with</c>.</summary>
public sealed record SaeDemoOptions
{
    /// <summary>The residual-stream hook the SAE reads: after the host's only block.</summary>
    public const string Hook = "resid_post.0";

    /// <summary>Where the ONNX graph, the store and the SAE go (required; <c>host.onnx</c>, <c>inputs.json</c>, <c>store/</c> and <c>sae/</c> in it are replaced).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>
    /// Folder of the cached hosts, one entry per host (<see cref="ModularAddition.ModAddCache.EntryFolder"/>).
    /// Required: the library picks no default location.
    /// </summary>
    public required string CacheFolder { get; init; }

    /// <summary>Fewer SAE steps (for CI); the host is the same (default false).</summary>
    public bool Quick { get; init; }

    /// <summary>Seed of the modular-addition host (and its cache entry) and of the SAE (default 0).</summary>
    public long HostSeed { get; init; }

    /// <summary>Train the host again even when it is cached (default false).</summary>
    public bool RetrainHost { get; init; }

    /// <summary>ONNX Runtime intra-op threads for the harvest (default 0: one per core). libtorch's thread count is process-wide and stays the caller's to set.</summary>
    public int Threads { get; init; }

    /// <summary>SAE dictionary size.</summary>
    public int Latents => 128;

    /// <summary>Active latents per input.</summary>
    public int K => 8;

    /// <summary>SAE training steps: 600 when <see cref="Quick"/>, else 2500.</summary>
    public int Steps => Quick ? 600 : 2500;

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A folder is empty.</exception>
    public SaeDemoOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory)) throw new SaeSharpException("is empty; pass the folder the demo writes to", field: "output_directory");
        if (string.IsNullOrWhiteSpace(CacheFolder)) throw new SaeSharpException("is empty; pass the folder that holds cached hosts", field: "cache_folder");
        if (Threads < 0) throw new SaeSharpException($"{Threads} is negative; use 0 for one per core", field: "threads");
        return this;
    }
}
