using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Tokenization;
using SaeSharp.Hosts;
using SaeSharp.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace SaeSharp.Testbeds.Stories;

/// <summary>
/// The story host: a GPT-Neo built as TinyStories-33M is (alternating global/local attention, unscaled scores,
/// gelu_new, tied unembedding), small, trained in-process on stories from <see cref="StoryGenerator"/>, over a compact
/// vocabulary (the GPT-2 ids the generated text uses plus <c>&lt;|endoftext|&gt;</c>), exported to ONNX with GPT-2 ids in
/// and logits by GPT-2 id out.
/// </summary>
/// <remarks>
/// The host folder (files written into a sibling temporary folder, which is renamed into place only when complete):
/// <list type="bullet">
/// <item><c>config.json</c>, <c>model.safetensors</c>: Hugging Face GPT-Neo layout over the compact vocabulary (<see cref="GptNeoFolder"/>);
/// <c>bos_token_id</c>/<c>eos_token_id</c> are the compact index of <c>&lt;|endoftext|&gt;</c>.</item>
/// <item><c>vocab_map.json</c>: compact index → GPT-2 id (<see cref="CompactVocabulary"/>).</item>
/// <item><c>heldout_stories.txt</c>: the held-out stories, one per line, separated by lines holding only <c>&lt;|endoftext|&gt;</c>.</item>
/// <item><c>model.onnx</c>: <c>input_ids</c> (GPT-2 ids; an id outside the vocabulary reads <c>&lt;|endoftext|&gt;</c>'s row),
/// optional <c>attention_mask</c>, <c>logits</c> 50,257 wide, ids outside the vocabulary at −10⁹.</item>
/// <item><c>story_host.json</c>: <see cref="StoryHostSummary"/>, written last.</item>
/// </list>
/// </remarks>
public static class StoryHost
{
    /// <summary>Changes whenever the recipe would train a different model from the same options; part of the cache key.</summary>
    public const int RecipeVersion = 1;

    /// <summary>File names inside a host folder.</summary>
    public const string SummaryFileName = "story_host.json", OnnxFileName = "model.onnx", HeldOutFileName = "heldout_stories.txt";

    /// <summary>The line that separates stories in <see cref="HeldOutFileName"/>.</summary>
    public const string Separator = "<|endoftext|>";

    /// <summary>GPT-2's vocabulary size and its <c>&lt;|endoftext|&gt;</c> id.</summary>
    private const int Gpt2VocabSize = 50257, EndOfText = GptNeoFolder.EndOfTextId;

    /// <summary>
    /// Generates the corpus, trains the host and writes its folder at <paramref name="folder"/>, which must not exist
    /// or be empty (the caller decides about replacing; see <see cref="StoryHostCache.LoadOrTrain"/>).
    /// </summary>
    /// <exception cref="SaeSharpException">An option is invalid, training diverged, or the folder cannot be written.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left at <paramref name="folder"/>.</exception>
    public static StoryHostResult Train(StoryHostOptions options, string folder, IProgress<LanguageModelProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        CheckTarget(folder);
        var total = Stopwatch.StartNew();
        var generator = new StoryGenerator(new StoryGeneratorOptions { Seed = options.Seed });
        var train = generator.Generate(options.TrainStories);
        var heldOut = generator.Generate(options.HeldOutStories);
        var prompts = generator.ConsistencyPrompts(options.ConsistencyPrompts);
        cancellationToken.ThrowIfCancellationRequested();

        var vocabulary = CompactVocabulary.FromSequences(
            train.Select(s => s.TokenIds).Concat(heldOut.Select(s => s.TokenIds)).Concat(prompts.Select(p => p.PromptIds.Append(p.ExpectedId).ToArray())),
            Gpt2VocabSize, EndOfText);
        var trainIds = train.Where(s => s.TokenIds.Count >= 2).Select(s => vocabulary.ToCompact(s.TokenIds)).ToArray();
        var heldOutIds = heldOut.Select(s => vocabulary.ToCompact(s.TokenIds)).ToArray();

        var model = new HostTransformer(options.Host(vocabulary.Count), seed: (long)options.Seed);
        try
        {
            var trainer = new LanguageModelTrainer(options.Training with { Seed = (long)options.Seed });
            var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
            var run = trainer.Train(model, trainIds, progress, cancellationToken);
            var trainCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuStart;
            var validation = LanguageModelTrainer.Evaluate(model, heldOutIds, cancellationToken: cancellationToken);
            var (accuracy, byKind) = Consistency(model, vocabulary, prompts);

            var partial = PartialFolder(folder);
            try
            {
                GptNeoFolder.Save(model, partial, vocabulary.UnknownIndex, vocabulary.UnknownIndex);
                vocabulary.Save(Path.Combine(partial, CompactVocabulary.FileName));
                var heldOutPath = Path.Combine(partial, HeldOutFileName);
                AtomicFile.WriteAllText(heldOutPath, string.Join("\n" + Separator + "\n", heldOut.Select(s => s.Text)) + "\n");
                var onnxPath = Path.Combine(partial, OnnxFileName);
                OnnxExporter.Export(model, onnxPath, new OnnxExportOptions { Vocabulary = vocabulary, AttentionMask = true });
                var onnx = OnnxValLoss(onnxPath, heldOutPath, cancellationToken);

                total.Stop();
                var summary = new StoryHostSummary(RecipeVersion, options, vocabulary.Count, model.parameters().Sum(p => p.NumberOfElements),
                    validation.MeanLoss, onnx.MeanLoss, validation.Tokens, accuracy, byKind, run.Tokens,
                    run.Elapsed.TotalSeconds, trainCpu.TotalSeconds, run.TokensPerSecond, total.Elapsed.TotalSeconds, torch.get_num_threads());
                AtomicFile.WriteAllText(Path.Combine(partial, SummaryFileName), JsonSerializer.Serialize(summary, StoryHostJsonContext.Default.StoryHostSummary));
                if (Directory.Exists(folder)) Directory.Delete(folder);
                Directory.Move(partial, folder);
                return new StoryHostResult(model, vocabulary, summary, Path.GetFullPath(folder), FromCache: false);
            }
            catch
            {
                if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
                throw;
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The held-out stories of a <see cref="HeldOutFileName"/> file: the text between separator lines, each story's
    /// lines joined with '\n'; empty stories are dropped.
    /// </summary>
    /// <exception cref="SaeSharpException">The file is unreadable or not UTF-8.</exception>
    public static IReadOnlyList<string> ReadHeldOut(string path)
    {
        var text = Encoding.UTF8.GetString(StrictJson.ReadUtf8File(path));
        var stories = new List<string>();
        var current = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            if (line == Separator)
            {
                if (current.Count > 0) stories.Add(string.Join('\n', current));
                current.Clear();
            }
            else if (line.Length > 0 || current.Count > 0)
            {
                current.Add(line);
            }
        }
        while (current.Count > 0 && current[^1].Length == 0) current.RemoveAt(current.Count - 1);
        if (current.Count > 0) stories.Add(string.Join('\n', current));
        return stories;
    }

    /// <summary>
    /// The next-token cross-entropy of an ONNX export on a held-out file, as a user with another runtime would
    /// measure it: the stories re-tokenized with GPT-2's tokenizer, each fed alone from its first token, no BOS.
    /// </summary>
    /// <exception cref="SaeSharpException">A file is unreadable, or the model cannot be run on the ids.</exception>
    public static LanguageModelEvaluation OnnxValLoss(string onnxPath, string heldOutPath, CancellationToken cancellationToken = default)
    {
        var tokenizer = Gpt2Tokenizer.Gpt2();
        var sequences = ReadHeldOut(heldOutPath).Select(tokenizer.Encode).Where(ids => ids.Length >= 2).ToArray();
        if (sequences.Length == 0) throw new SaeSharpException("holds no story of two or more tokens", heldOutPath);
        return OnnxNextTokenLoss.Evaluate(onnxPath, sequences, cancellationToken: cancellationToken);
    }

    /// <summary>Top-1 accuracy on the prompts (all, and per kind): the model's most likely next GPT-2 id against the forced one.</summary>
    internal static (double Accuracy, IReadOnlyDictionary<string, double> ByKind) Consistency(HostTransformer model, CompactVocabulary vocabulary, IReadOnlyList<ConsistencyPrompt> prompts)
    {
        var correct = new bool[prompts.Count];
        using (no_grad())
        {
            const int BatchSize = 32;
            for (int start = 0; start < prompts.Count; start += BatchSize)
            {
                using var scope = NewDisposeScope();
                var batch = Enumerable.Range(start, Math.Min(BatchSize, prompts.Count - start)).ToArray();
                int t = batch.Max(i => Math.Max(prompts[i].PromptIds.Count, 1));
                var ids = new long[batch.Length * t];
                var last = new long[batch.Length];
                for (int b = 0; b < batch.Length; b++)
                {
                    var prompt = prompts[batch[b]].PromptIds;
                    var compact = prompt.Select(id => vocabulary.Contains(id) ? vocabulary.ToCompact([id])[0] : vocabulary.UnknownIndex).ToArray();
                    if (compact.Length == 0) compact = [vocabulary.UnknownIndex];
                    Array.Copy(compact, 0, ids, b * t, compact.Length);
                    last[b] = compact.Length - 1;
                }
                var logitsBTV = model.forward(tensor(ids, [batch.Length, t]));
                var index = tensor(last).view(-1, 1, 1).expand(-1, 1, logitsBTV.shape[2]);
                var top = logitsBTV.gather(1, index).squeeze(1).argmax(1).data<long>().ToArray();
                for (int b = 0; b < batch.Length; b++)
                    correct[batch[b]] = vocabulary.Ids[(int)top[b]] == prompts[batch[b]].ExpectedId;
            }
        }
        var byKind = prompts.Select((p, i) => (p.Kind, correct[i])).GroupBy(x => x.Kind, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(x => x.Item2) / (double)g.Count(), StringComparer.Ordinal);
        return (correct.Count(c => c) / (double)correct.Length, byKind);
    }

    private static void CheckTarget(string folder)
    {
        if (string.IsNullOrWhiteSpace(folder)) throw new SaeSharpException("is empty; name the host folder to write", field: nameof(folder));
        var full = Path.GetFullPath(folder);
        if (File.Exists(full)) throw new SaeSharpException("is a file; the story host is a folder", full);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new SaeSharpException("already holds files; the story host is written only into a new or empty folder", full);
    }

    private static string PartialFolder(string folder)
    {
        CheckTarget(folder);
        var full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var partial = Path.Combine(parent, $".{Path.GetFileName(full)}.partial-{Guid.NewGuid():N}");
        Directory.CreateDirectory(partial);
        return partial;
    }
}
