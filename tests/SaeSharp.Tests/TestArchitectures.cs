namespace SaeSharp.Tests;

/// <summary>One instance of each architecture, for invariants that must hold across all of them.</summary>
public static class TestArchitectures
{
    public static TheoryData<string> Names => new() { "topk", "batchtopk", "jumprelu", "relu" };

    public static SaeArchitecture Create(string name, int k = 3) => name switch
    {
        "topk" => new TopKArchitecture(k),
        "batchtopk" => new BatchTopKArchitecture(k),
        "jumprelu" => new JumpReluArchitecture(Bandwidth: 0.05, InitialThreshold: 0.05),
        "relu" => new ReluArchitecture(),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };
}
