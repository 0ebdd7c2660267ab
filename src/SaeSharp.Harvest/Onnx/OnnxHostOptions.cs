namespace SaeSharp.Harvest.Onnx;

/// <summary>Load-time settings of an <see cref="OnnxHost"/>.</summary>
public sealed record OnnxHostOptions
{
    /// <summary>Execution provider; default <see cref="OnnxExecutionProvider.Cpu"/>.</summary>
    public OnnxExecutionProvider ExecutionProvider { get; init; } = OnnxExecutionProvider.Cpu;

    /// <summary>CUDA device ordinal when <see cref="ExecutionProvider"/> is CUDA; default 0.</summary>
    public int DeviceId { get; init; }

    /// <summary>Threads ONNX Runtime uses inside one operator; 0 (default) lets the runtime choose (one per core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Token id written into padding positions of shorter sequences; never stored. Default 0.</summary>
    public int PadTokenId { get; init; }

    /// <summary>Name of the token-id input; null (default) means <c>input_ids</c>, or the graph's only integer input.</summary>
    public string? InputIdsName { get; init; }

    /// <summary>Throws naming the field when a setting is out of range.</summary>
    /// <exception cref="SaeSharpException">A field is out of range.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(ExecutionProvider))
            throw new SaeSharpException($"{ExecutionProvider} is not one of {string.Join(", ", Enum.GetNames<OnnxExecutionProvider>())}", field: nameof(ExecutionProvider));
        if (DeviceId < 0)
            throw new SaeSharpException($"{DeviceId} is negative; a device ordinal is 0 or more", field: nameof(DeviceId));
        if (IntraOpThreads is < 0 or > 1024)
            throw new SaeSharpException($"{IntraOpThreads} is outside [0, 1024] (0 = runtime's choice)", field: nameof(IntraOpThreads));
        if (PadTokenId < 0)
            throw new SaeSharpException($"{PadTokenId} is negative", field: nameof(PadTokenId));
    }
}
