namespace SaeSharp.Testbeds.Tests;

/// <summary>Tests that touch libtorch's global state (RNG, default dtype, thread count) run one at a time in this collection.</summary>
[CollectionDefinition("Torch", DisableParallelization = true)]
public sealed class TorchCollection;
