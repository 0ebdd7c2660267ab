using System.CommandLine;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Harvest;
using SaeSharp.Harvest.Corpus;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp harvest</c>: run an ONNX decoder over a corpus (or exact token ids) into an activation store.</summary>
internal static class HarvestCommand
{
    /// <summary>The library's defaults; the options show and use these.</summary>
    private static readonly HarvestConfig Defaults = new() { ModelPath = "", Hooks = [], OutputPath = "" };

    internal static Command Create()
    {
        var model = new Option<string>("--model") { Description = "ONNX decoder graph", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "`gpt2` (GPT-2's built-in vocabulary), or a tokenizer folder, tokenizer.json, or vocab.json (merges.txt beside it)" };
        var corpus = new Option<string?>("--corpus") { Description = "corpus file" };
        var corpusFormat = new Option<string>("--corpus-format") { Description = "text (documents split on <|endoftext|>), jsonl, or lines", DefaultValueFactory = _ => FormatName(Defaults.CorpusFormat) };
        var textField = new Option<string>("--text-field") { Description = "JSON-lines field with the text", DefaultValueFactory = _ => Defaults.TextField };
        var tokenIds = new Option<string?>("--token-ids") { Description = "JSON array of token-id arrays: exact inputs instead of a corpus" };
        var hooks = new Option<string>("--hooks") { Description = "comma-separated hook names (see `saesharp hooks`), tensor names, or `all`", Required = true };
        var context = new Option<int>("--context") { Description = "tokens per context (longest sequence for --token-ids)", DefaultValueFactory = _ => Defaults.ContextLength };
        var tokens = new Option<long?>("--tokens") { Description = "tokens to harvest (rows per hook); required with --corpus" };
        var output = new Option<string>("--out") { Description = "store folder to create (must be new or empty)", Required = true };
        var batchSize = new Option<int>("--batch-size") { Description = "sequences per forward pass", DefaultValueFactory = _ => Defaults.BatchSize };
        var dtype = new Option<string>("--dtype") { Description = "f32 or f16", DefaultValueFactory = _ => Defaults.DType == StoreDType.F16 ? "f16" : "f32" };
        var shardRows = new Option<int?>("--shard-rows") { Description = "rows per shard (default: about 64 MiB per hook)" };
        var seed = new Option<ulong?>("--seed") { Description = "shuffle the corpus documents with this seed (default: file order)" };
        var bos = new Option<bool>("--bos") { Description = "put <|endoftext|> before each document", DefaultValueFactory = _ => Defaults.Bos };
        var noEos = new Option<bool>("--no-eos") { Description = "do not put <|endoftext|> after each document", DefaultValueFactory = _ => !Defaults.Eos };
        var resume = new Option<bool>("--resume") { Description = "continue the store in --out from its manifest" };
        var force = new Option<bool>("--force") { Description = "replace a store already in --out (other files stay)" };
        var allowNonFinite = new Option<bool>("--allow-non-finite") { Description = "store NaN and infinite activations instead of stopping at the first" };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = one per core)", DefaultValueFactory = _ => Defaults.Host.IntraOpThreads };
        var provider = new Option<string>("--provider") { Description = "cpu or cuda (needs the GPU build)", DefaultValueFactory = _ => Defaults.Host.ExecutionProvider == OnnxExecutionProvider.Cuda ? "cuda" : "cpu" };
        var device = new Option<int>("--device") { Description = "CUDA device ordinal", DefaultValueFactory = _ => Defaults.Host.DeviceId };
        var shard = new Option<string?>("--shard") { Description = "I/N: harvest only part I of N (0 <= I < N), a contiguous run of whole batches; `saesharp store merge` joins the N parts into the whole harvest" };
        var json = new Option<bool>("--json") { Description = "print a JSON summary" };
        var command = new Command("harvest", "Run an ONNX decoder over a corpus or exact token ids and store the hook activations (resumable).");
        foreach (var o in new Option[] { model, tokenizer, corpus, corpusFormat, textField, tokenIds, hooks, context, tokens, output, batchSize, dtype, shardRows, seed, bos, noEos, resume, force, allowNonFinite, threads, provider, device, shard, json })
            command.Options.Add(o);
        command.SetAction((ParseResult r, CancellationToken cancellation) => CommandRunner.RunAsync(async () =>
        {
            var config = new HarvestConfig
            {
                ModelPath = r.GetValue(model)!,
                TokenizerPath = r.GetValue(tokenizer),
                CorpusPath = r.GetValue(corpus),
                CorpusFormat = r.GetValue(corpusFormat) switch
                {
                    "text" => CorpusFormat.Text,
                    "jsonl" or "json-lines" => CorpusFormat.JsonLines,
                    "lines" => CorpusFormat.Lines,
                    var other => throw new SaeSharpException($"`{other}` is not text, jsonl or lines", field: "corpus_format"),
                },
                TextField = r.GetValue(textField)!,
                TokenIdsPath = r.GetValue(tokenIds),
                Hooks = r.GetValue(hooks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                ContextLength = r.GetValue(context),
                Tokens = r.GetValue(tokens),
                OutputPath = r.GetValue(output)!,
                BatchSize = r.GetValue(batchSize),
                DType = r.GetValue(dtype) switch
                {
                    "f32" => StoreDType.F32,
                    "f16" => StoreDType.F16,
                    var other => throw new SaeSharpException($"`{other}` is not f32 or f16", field: "dtype"),
                },
                RowsPerShard = r.GetValue(shardRows),
                Seed = r.GetValue(seed),
                Bos = r.GetValue(bos),
                Eos = !r.GetValue(noEos),
                Resume = r.GetValue(resume),
                Overwrite = r.GetValue(force),
                AllowNonFinite = r.GetValue(allowNonFinite),
                Shard = r.GetValue(shard) is { } part ? ParseShard(part) : null,
                Host = Defaults.Host with
                {
                    IntraOpThreads = r.GetValue(threads),
                    DeviceId = r.GetValue(device),
                    ExecutionProvider = r.GetValue(provider) switch
                    {
                        "cpu" => OnnxExecutionProvider.Cpu,
                        "cuda" => OnnxExecutionProvider.Cuda,
                        var other => throw new SaeSharpException($"`{other}` is not cpu or cuda", field: "ExecutionProvider"),
                    },
                },
            };
            config.Validate();
            HarvestResult result;
            try
            {
                result = await RunWithProgress(config, cancellation);
            }
            catch (OperationCanceledException)
            {
                await Console.Error.WriteLineAsync(Stopped(config.OutputPath));
                return CommandRunner.Cancelled;
            }
            if (r.GetValue(json))
            {
                CliJson.Print(HarvestOutput.From(result), CliJsonContext.Default.HarvestOutput);
            }
            else
            {
                Console.Error.WriteLine($"harvested {result.Rows} rows × {result.Hooks.Count} hooks into {result.StorePath} ({result.Shards} shards, {result.Seconds:F1} s)");
            }
            return 0;
        }));
        return command;
    }

    /// <summary>Reads <c>I/N</c> (part I of N, zero-based): what a scheduler's index and count give a worker.</summary>
    internal static HarvestShard ParseShard(string text)
    {
        var pieces = text.Split('/');
        if (pieces.Length != 2
            || !int.TryParse(pieces[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(pieces[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int count))
            throw new SaeSharpException($"`{text}` is not I/N (part I of N, counted from 0: 0/4 ... 3/4)", field: "--shard");
        return new HarvestShard(index, count).Validate();
    }

    private static string FormatName(CorpusFormat format) => format switch
    {
        CorpusFormat.JsonLines => "jsonl",
        CorpusFormat.Lines => "lines",
        _ => "text",
    };

    private static Task<HarvestResult> RunWithProgress(HarvestConfig config, CancellationToken cancellation) =>
        ConsoleProgress.RunAsync("harvest", quiet: false, progress => Task.Run(() => Harvester.Run(config, new SyncProgress<HarvestProgress>(p =>
            progress.Report(new ConsoleProgress.Update(p.Tokens, p.TargetTokens,
                $"{p.Tokens:N0}/{p.TargetTokens:N0} tokens, {p.TokensPerSecond:N0} tok/s, ETA {(p.Eta is { } eta ? eta.ToString(@"hh\:mm\:ss") : "?")}, {p.CommittedShards} shards"))),
            cancellation), CancellationToken.None));

    /// <summary>Where a cancelled harvest stopped: its last commit (rows after it are harvested again on resume).</summary>
    private static string Stopped(string outputPath)
    {
        var full = Path.GetFullPath(outputPath);
        if (!File.Exists(Path.Combine(full, "manifest.json")))
            return $"stopped before the first shard was committed; nothing was kept in {full}: run the same command again (or with --resume)";
        var manifest = StoreManifest.Read(full);
        return $"stopped at {manifest.Rows:N0} of {manifest.TargetTokens:N0} rows per hook ({manifest.Shards.Count} shards committed); continue with the same command and --resume (--out {full})";
    }
}
