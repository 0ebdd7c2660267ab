namespace SaeSharp.Testbeds.Stories;

/// <summary>The <c>story_pair.json</c> of a pair folder: the recipe and what was measured while building it. Written last.</summary>
/// <param name="RecipeVersion"><see cref="StoryPair.RecipeVersion"/> of the code that built it.</param>
/// <param name="Options">The recipe.</param>
/// <param name="VocabularySize">The teacher's and distilled model's compact vocabulary: the base's plus the reflection words.</param>
/// <param name="AddedTokens">GPT-2 ids added to the base's vocabulary (their rows start as copies of <c>&lt;|endoftext|&gt;</c>'s, which is how the base reads any id it lacks).</param>
/// <param name="TeacherLoss">The teacher's last logged training loss (nats).</param>
/// <param name="GeneratorReflectionRate">Share of the teacher corpus' sentences that are reflections (parsed back with <see cref="StoryReflections"/>).</param>
/// <param name="TeacherReflectionRate">Share of the sentences of the teacher's samples (the distillation data) that are reflections.</param>
/// <param name="SampleTokens">Tokens in the teacher's samples.</param>
/// <param name="DistilledLoss">The distilled model's last logged training loss (nats).</param>
/// <param name="TotalSeconds">Wall time of building the pair (the base host excluded).</param>
public sealed record StoryPairSummary(
    int RecipeVersion, StoryPairOptions Options, int VocabularySize, IReadOnlyList<int> AddedTokens, double TeacherLoss,
    double GeneratorReflectionRate, double TeacherReflectionRate, long SampleTokens, double DistilledLoss, double TotalSeconds);
