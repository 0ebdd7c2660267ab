namespace SaeSharp.Testbeds.Stories;

/// <summary>The <c>story_host.json</c> of a host folder: the recipe it was trained with and what was measured. Written last.</summary>
/// <param name="RecipeVersion"><see cref="StoryHost.RecipeVersion"/> of the code that trained it.</param>
/// <param name="Options">The recipe.</param>
/// <param name="VocabularySize">Compact vocabulary size.</param>
/// <param name="Parameters">Trainable parameters of the model.</param>
/// <param name="ValLoss">Mean next-token cross-entropy (nats) over every position of every held-out story, each fed alone from its first token, no BOS (TorchSharp).</param>
/// <param name="OnnxValLoss">The same measured through the ONNX export with ONNX Runtime on <c>heldout_stories.txt</c> re-tokenized with GPT-2's tokenizer.</param>
/// <param name="HeldOutTokens">Predicted positions behind both losses.</param>
/// <param name="ConsistencyAccuracy">Share of consistency prompts whose top-1 next token is the forced one.</param>
/// <param name="ConsistencyByKind">The same per prompt kind (pronoun, speaker, phrase).</param>
/// <param name="TrainTokens">Predicted tokens trained on (padding excluded).</param>
/// <param name="TrainSeconds">Wall time of the training loop.</param>
/// <param name="TrainCpuSeconds">Processor time of the whole process during the training loop (all threads): a cost measure that load from other processes inflates far less than wall time.</param>
/// <param name="TokensPerSecond">TrainTokens / TrainSeconds.</param>
/// <param name="TotalSeconds">Wall time of the whole recipe: generation, training, evaluation, export, checks.</param>
/// <param name="Threads">libtorch intra-op threads during training.</param>
public sealed record StoryHostSummary(
    int RecipeVersion, StoryHostOptions Options, int VocabularySize, long Parameters,
    double ValLoss, double OnnxValLoss, long HeldOutTokens,
    double ConsistencyAccuracy, IReadOnlyDictionary<string, double> ConsistencyByKind,
    long TrainTokens, double TrainSeconds, double TrainCpuSeconds, double TokensPerSecond, double TotalSeconds, int Threads);
