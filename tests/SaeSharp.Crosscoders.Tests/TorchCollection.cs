namespace SaeSharp.Crosscoders.Tests;

/// <summary>Tests that touch libtorch's global state (RNG, default dtype, threads) run one at a time in this collection.</summary>
[CollectionDefinition("Torch", DisableParallelization = true)]
public sealed class TorchCollection;
