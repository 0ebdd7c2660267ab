using SaeSharp.Hosts;

namespace SaeSharp.Testbeds.Stories;

/// <summary>A trained (or cached) story host and what was measured on it. Disposing it disposes the model.</summary>
/// <param name="Model">The GPT-Neo over the compact vocabulary.</param>
/// <param name="Vocabulary">Compact index → GPT-2 id.</param>
/// <param name="Summary">The measurements, as saved in the host folder.</param>
/// <param name="HostPath">The host folder.</param>
/// <param name="FromCache">Whether the folder already held this run.</param>
public sealed record StoryHostResult(HostTransformer Model, CompactVocabulary Vocabulary, StoryHostSummary Summary, string HostPath, bool FromCache) : IDisposable
{
    /// <summary>The ONNX export (GPT-2 ids in, logits by GPT-2 id out).</summary>
    public string OnnxPath => Path.Combine(HostPath, StoryHost.OnnxFileName);

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();
}
