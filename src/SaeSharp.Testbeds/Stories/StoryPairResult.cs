using SaeSharp.Hosts;

namespace SaeSharp.Testbeds.Stories;

/// <summary>A base / teacher / distilled triple of story models (<see cref="StoryPair"/>). Disposing it disposes the three models.</summary>
/// <param name="Base">The base story host (its own vocabulary, never trained on a reflection).</param>
/// <param name="Teacher">The teacher over <paramref name="Vocabulary"/>.</param>
/// <param name="Distilled">The distilled model over <paramref name="Vocabulary"/>.</param>
/// <param name="Vocabulary">The teacher's and distilled model's compact vocabulary.</param>
/// <param name="Summary">What was measured, as saved.</param>
/// <param name="PairPath">The pair folder (<c>teacher/</c>, <c>distilled/</c>, <c>story_pair.json</c>).</param>
/// <param name="FromCache">Whether the folder already held this pair.</param>
public sealed record StoryPairResult(
    StoryHostResult Base, HostTransformer Teacher, HostTransformer Distilled, CompactVocabulary Vocabulary, StoryPairSummary Summary,
    string PairPath, bool FromCache) : IDisposable
{
    /// <summary>The teacher's Hugging Face folder (with its ONNX export).</summary>
    public string TeacherPath => Path.Combine(PairPath, StoryPair.TeacherFolderName);

    /// <summary>The distilled model's Hugging Face folder (with its ONNX export).</summary>
    public string DistilledPath => Path.Combine(PairPath, StoryPair.DistilledFolderName);

    /// <inheritdoc/>
    public void Dispose()
    {
        Base.Dispose();
        Teacher.Dispose();
        Distilled.Dispose();
    }
}
