using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Tokenization;
using SaeSharp.Hosts;
using SaeSharp.IO;
using SaeSharp.Testbeds.Demos;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// Builds (or loads from the cache) a base / distilled pair of story models whose difference is known: a behaviour the
/// base corpus never holds, self-reflection sentences (<see cref="StoryGeneratorOptions.ReflectionProbability"/>), the
/// analogue of the reasoning traces R1-distilled models were fine-tuned on.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item>Base: the story host (<see cref="StoryHostCache"/>), trained on the base corpus only.</item>
/// <item>Vocabulary: the base's compact vocabulary plus the GPT-2 ids the reflections add (<c>Wait</c>, <c>think</c>,
/// <c>Maybe</c>...). Their embedding rows start as copies of <c>&lt;|endoftext|&gt;</c>'s row, which is how the base's
/// ONNX export reads any id it lacks, so the widened base computes exactly what the base computes.</item>
/// <item>Teacher: the widened base fine-tuned on generated stories with reflections, each followed by
/// <c>&lt;|endoftext|&gt;</c> so that it learns where a story ends. Starting from the base's weights instead of from
/// scratch keeps the demo within its time budget.</item>
/// <item>Distilled: the widened base fine-tuned on stories sampled from the teacher (not on the generator), as
/// R1-distilled models were fine-tuned on R1's traces.</item>
/// </list>
/// The pair folder (<c>{base entry}-pair-{hash}</c> beside the base host) holds <c>teacher/</c> and <c>distilled/</c>,
/// each in Hugging Face layout with <c>vocab_map.json</c> and <c>model.onnx</c>, and <c>story_pair.json</c> written last.
/// </remarks>
public static class StoryPair
{
    /// <summary>Changes whenever the recipe would build a different pair from the same options; part of the cache check.</summary>
    public const int RecipeVersion = 1;

    /// <summary>Names inside a pair folder.</summary>
    public const string TeacherFolderName = "teacher", DistilledFolderName = "distilled", SummaryFileName = "story_pair.json";

    private const int EndOfText = GptNeoFolder.EndOfTextId;

    /// <summary>The pair's folder name in a cache of hosts: the base host's entry, <c>-pair-</c>, and a hash of the options.</summary>
    public static string EntryName(StoryPairOptions options)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(options, StoryHostJsonContext.Default.StoryPairOptions)));
        return $"{StoryHostCache.EntryName(options.Base)}-pair-v{RecipeVersion}-{Convert.ToHexStringLower(hash)[..12]}";
    }

    /// <summary>
    /// The pair from <paramref name="cacheFolder"/> when it is there, else built there (the base host too, when missing).
    /// Stages reported: <c>base</c>, <c>teacher</c>, <c>samples</c>, <c>distilled</c>.
    /// </summary>
    /// <exception cref="SaeSharpException">An option is invalid, a cached file is corrupt, or training failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; a half-built pair is not left in the cache.</exception>
    public static StoryPairResult LoadOrTrain(StoryPairOptions options, string cacheFolder, IProgress<SaeDemoProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        int baseSteps = options.Base.Training.Steps;
        progress?.Report(new SaeDemoProgress("base", 0, baseSteps, null));
        var baseHost = StoryHostCache.LoadOrTrain(options.Base, Path.Combine(cacheFolder, StoryHostCache.EntryName(options.Base)),
            progress: new CallingThreadProgress<LanguageModelProgress>(p => progress?.Report(new SaeDemoProgress("base", p.Step, baseSteps, $"loss {p.Loss:F3}"))),
            cancellationToken: cancellationToken);
        try
        {
            var folder = Path.Combine(cacheFolder, EntryName(options));
            return TryLoad(options, baseHost, folder) ?? Build(options, baseHost, folder, progress, cancellationToken);
        }
        catch
        {
            baseHost.Dispose();
            throw;
        }
    }

    private static StoryPairResult? TryLoad(StoryPairOptions options, StoryHostResult baseHost, string folder)
    {
        var summaryPath = Path.Combine(folder, SummaryFileName);
        if (!File.Exists(summaryPath)) return null;
        var summary = StrictJson.Deserialize(StrictJson.ReadUtf8File(summaryPath), StoryHostJsonContext.Default.StoryPairSummary, summaryPath);
        if (summary.RecipeVersion != RecipeVersion || summary.Options != options)
            throw new SaeSharpException("records another recipe than its name says; delete the folder to rebuild it", folder);
        var vocabulary = CompactVocabulary.Load(Path.Combine(folder, TeacherFolderName, CompactVocabulary.FileName));
        var teacher = GptNeoFolder.Load(Path.Combine(folder, TeacherFolderName));
        try
        {
            var distilled = GptNeoFolder.Load(Path.Combine(folder, DistilledFolderName));
            return new StoryPairResult(baseHost, teacher, distilled, vocabulary, summary, Path.GetFullPath(folder), FromCache: true);
        }
        catch
        {
            teacher.Dispose();
            throw;
        }
    }

    private static StoryPairResult Build(StoryPairOptions options, StoryHostResult baseHost, string folder, IProgress<SaeDemoProgress>? progress,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var generator = new StoryGenerator(new StoryGeneratorOptions { Seed = options.CorpusSeed, ReflectionProbability = options.ReflectionProbability });
        var corpus = generator.Generate(options.TeacherStories);
        var vocabulary = CompactVocabulary.Create(
            baseHost.Vocabulary.Ids.Concat(corpus.SelectMany(s => s.TokenIds)).Distinct().Order().ToArray(), baseHost.Vocabulary.OriginalSize, EndOfText);
        var added = vocabulary.Ids.Where(id => !baseHost.Vocabulary.Contains(id)).ToArray();
        long end = vocabulary.UnknownIndex;
        var generatorRate = Rate(corpus.Select(s => s.Text));

        HostTransformer? teacher = null, distilled = null;
        try
        {
            teacher = Widen(baseHost, vocabulary, options.Base);
            var teacherIds = corpus.Select(s => vocabulary.ToCompact(s.TokenIds).Append(end).ToArray()).ToArray();
            int teacherSteps = options.TeacherTraining.Steps;
            var teacherRun = new LanguageModelTrainer(options.TeacherTraining with { Seed = (long)options.CorpusSeed }).Train(teacher, teacherIds,
                new CallingThreadProgress<LanguageModelProgress>(p => progress?.Report(new SaeDemoProgress("teacher", p.Step, teacherSteps, $"loss {p.Loss:F3}"))),
                cancellationToken);

            progress?.Report(new SaeDemoProgress("samples", 0, 1, $"{options.DistillationSamples} stories from the teacher"));
            var samples = StorySampler.Sample(teacher, Prompts(options, vocabulary), end, options.SampleMaxLength, options.Temperature,
                options.CorpusSeed, cancellationToken: cancellationToken);
            var tokenizer = Gpt2Tokenizer.Gpt2();
            var teacherRate = Rate(samples.Select(s => Text(tokenizer, vocabulary, s)));
            var trainable = samples.Where(s => s.Length >= 2).ToArray();

            distilled = Widen(baseHost, vocabulary, options.Base);
            int distilSteps = options.DistillationTraining.Steps;
            var distilRun = new LanguageModelTrainer(options.DistillationTraining with { Seed = (long)options.CorpusSeed + 1 }).Train(distilled, trainable,
                new CallingThreadProgress<LanguageModelProgress>(p => progress?.Report(new SaeDemoProgress("distilled", p.Step, distilSteps, $"loss {p.Loss:F3}"))),
                cancellationToken);

            var summary = new StoryPairSummary(RecipeVersion, options, vocabulary.Count, added, teacherRun.FinalLoss, generatorRate, teacherRate,
                samples.Sum(s => (long)s.Length), distilRun.FinalLoss, clock.Elapsed.TotalSeconds);
            Write(folder, teacher, distilled, vocabulary, summary);
            return new StoryPairResult(baseHost, teacher, distilled, vocabulary, summary, Path.GetFullPath(folder), FromCache: false);
        }
        catch
        {
            teacher?.Dispose();
            distilled?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The base model over the wider vocabulary: every weight copied, each embedding row taken from the base's row of
    /// the same GPT-2 id, or from <c>&lt;|endoftext|&gt;</c>'s row for an id the base lacks.
    /// </summary>
    internal static HostTransformer Widen(StoryHostResult baseHost, CompactVocabulary vocabulary, StoryHostOptions recipe)
    {
        var rows = vocabulary.Ids.Select(id => (long)(baseHost.Vocabulary.Contains(id) ? baseHost.Vocabulary.ToCompact([id])[0] : baseHost.Vocabulary.UnknownIndex)).ToArray();
        var model = new HostTransformer(recipe.Host(vocabulary.Count), seed: (long)recipe.Seed);
        try
        {
            using var scope = NewDisposeScope();
            var weights = baseHost.Model.NamedWeights().ToDictionary(w => w.Name, w => w.Tensor);
            weights[HostNames.Wte] = weights[HostNames.Wte].index_select(0, tensor(rows));
            model.LoadWeights(weights, baseHost.HostPath);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>One-token prompts: the first tokens of generated stories (the teacher writes the rest).</summary>
    private static long[][] Prompts(StoryPairOptions options, CompactVocabulary vocabulary)
    {
        var generator = new StoryGenerator(new StoryGeneratorOptions { Seed = options.CorpusSeed + 1 });
        return Enumerable.Range(0, options.DistillationSamples).Select(_ => vocabulary.ToCompact([generator.Next().TokenIds[0]])).ToArray();
    }

    /// <summary>The text of a sample in compact ids, without its end token.</summary>
    internal static string Text(Gpt2Tokenizer tokenizer, CompactVocabulary vocabulary, IReadOnlyList<long> compact) =>
        tokenizer.Decode(compact.Where(i => i != vocabulary.UnknownIndex).Select(i => vocabulary.Ids[(int)i]).ToArray());

    private static double Rate(IEnumerable<string> texts)
    {
        var (reflections, sentences) = StoryReflections.Count(texts);
        return sentences == 0 ? 0 : (double)reflections / sentences;
    }

    private static void Write(string folder, HostTransformer teacher, HostTransformer distilled, CompactVocabulary vocabulary, StoryPairSummary summary)
    {
        var full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        var partial = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.partial-{Guid.NewGuid():N}");
        try
        {
            foreach (var (name, model) in new[] { (TeacherFolderName, teacher), (DistilledFolderName, distilled) })
            {
                var modelFolder = Path.Combine(partial, name);
                GptNeoFolder.Save(model, modelFolder, vocabulary.UnknownIndex, vocabulary.UnknownIndex);
                vocabulary.Save(Path.Combine(modelFolder, CompactVocabulary.FileName));
                OnnxExporter.Export(model, Path.Combine(modelFolder, StoryHost.OnnxFileName), new OnnxExportOptions { Vocabulary = vocabulary, AttentionMask = true });
            }
            AtomicFile.WriteAllText(Path.Combine(partial, SummaryFileName), JsonSerializer.Serialize(summary, StoryHostJsonContext.Default.StoryPairSummary));
            if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
            Directory.Move(partial, full);
        }
        catch
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            throw;
        }
    }
}
