namespace SaeSharp.Api.Tests.Docs;

/// <summary>The examples that run train with TorchSharp, whose global state is shared: one at a time.</summary>
[CollectionDefinition("Docs", DisableParallelization = true)]
public sealed class DocsCollection;
