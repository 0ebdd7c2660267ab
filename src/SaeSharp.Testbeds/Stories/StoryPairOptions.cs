using SaeSharp.Hosts;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// The recipe of a base / distilled pair of story models with a known difference (<see cref="StoryPair"/>): the base is
/// the story host; the teacher is the base fine-tuned on stories with self-reflections; the distilled model is the base
/// fine-tuned on text sampled from the teacher. Immutable; change with <c>with</c>.
/// </summary>
public sealed record StoryPairOptions
{
    /// <summary>The base model's recipe (default: the story host's, seed 0).</summary>
    public StoryHostOptions Base { get; init; } = new();

    /// <summary>Seed of the teacher's generated corpus and of the prompts and draws of the distillation samples (default 2000; the base host's stories use its own seed).</summary>
    public ulong CorpusSeed { get; init; } = 2000;

    /// <summary>Probability of a self-reflection after each event in the teacher's corpus (<see cref="StoryGeneratorOptions.ReflectionProbability"/>, default 0.3).</summary>
    public double ReflectionProbability { get; init; } = 0.3;

    /// <summary>Generated stories (with reflections) the teacher is fine-tuned on (default 2000).</summary>
    public int TeacherStories { get; init; } = 2000;

    /// <summary>How the teacher is fine-tuned from the base's weights (default 120 steps of 16 stories, lr 2e-3, 10 warmup steps: the reflection templates are learned in far fewer steps than the base corpus).</summary>
    public LanguageModelTrainOptions TeacherTraining { get; init; } = new() { Steps = 120, BatchSize = 16, LearningRate = 2e-3, WarmupSteps = 10 };

    /// <summary>Stories sampled from the teacher for the distilled model to learn from (default 384).</summary>
    public int DistillationSamples { get; init; } = 384;

    /// <summary>Longest teacher sample in tokens, prompt and end token included (default 256, the context; the teacher ends a story with <c>&lt;|endoftext|&gt;</c> well before).</summary>
    public int SampleMaxLength { get; init; } = 256;

    /// <summary>Sampling temperature of the teacher (default 1: its own distribution).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>How the distilled model is fine-tuned from the base's weights on the teacher's samples (default 120 steps of 16, lr 2e-3, 10 warmup steps: five passes over the default samples).</summary>
    public LanguageModelTrainOptions DistillationTraining { get; init; } = new() { Steps = 120, BatchSize = 16, LearningRate = 2e-3, WarmupSteps = 10 };

    /// <summary>Checks every field.</summary>
    /// <exception cref="SaeSharpException">A field is out of range; the message names it.</exception>
    public StoryPairOptions Validate()
    {
        Base.Validate();
        if (CorpusSeed == Base.Seed) throw new SaeSharpException($"is {CorpusSeed}, the base's seed; the teacher's stories must not be the base's", field: "corpus_seed");
        if (!(ReflectionProbability > 0 && ReflectionProbability <= 1)) throw new SaeSharpException($"is {ReflectionProbability}; must be in (0, 1]: the teacher needs the new behaviour", field: "reflection_probability");
        if (TeacherStories < 1) throw new SaeSharpException($"is {TeacherStories}; at least one story", field: "teacher_stories");
        if (DistillationSamples < 1) throw new SaeSharpException($"is {DistillationSamples}; at least one sample", field: "distillation_samples");
        if (SampleMaxLength < 2 || SampleMaxLength > Base.ContextLength) throw new SaeSharpException($"is {SampleMaxLength}; must be in [2, {Base.ContextLength}] (the context length)", field: "sample_max_length");
        if (!(Temperature > 0) || !double.IsFinite(Temperature)) throw new SaeSharpException($"is {Temperature}; must be positive", field: "temperature");
        TeacherTraining.Validate();
        DistillationTraining.Validate();
        return this;
    }
}
