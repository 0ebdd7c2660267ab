using System.CommandLine;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Harvest.Tokenization;

namespace SaeSharp.Cli.Commands;

/// <summary><c>saesharp tokenize --tokenizer gpt2|PATH --text-file F --json</c>: the ids of a file's whole text.</summary>
internal static class TokenizeCommand
{
    internal static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "`gpt2` (GPT-2's built-in vocabulary), or a tokenizer folder, tokenizer.json, or vocab.json (merges.txt beside it)", Required = true };
        var textFile = new Option<string>("--text-file") { Description = "UTF-8 text file to encode as a whole", Required = true };
        var json = new Option<bool>("--json") { Description = "print the ids as one JSON array (the default output too)" };
        var command = new Command("tokenize", "Encode a text file with a GPT-2-style byte-level BPE tokenizer and print the ids as a JSON array.");
        command.Options.Add(tokenizer);
        command.Options.Add(textFile);
        command.Options.Add(json);
        command.SetAction((ParseResult r, CancellationToken _) => CommandRunner.RunAsync(() => HarvestCli.Sync(() =>
        {
            var bpe = Gpt2Tokenizer.Open(r.GetValue(tokenizer)!);
            var path = Path.GetFullPath(r.GetValue(textFile)!);
            if (!File.Exists(path)) throw new SaeSharpException("text file not found", path, "--text-file");
            var ids = bpe.Encode(File.ReadAllText(path));
            // One line however long the text: the ids are a list, not a record to read.
            Console.Out.WriteLine(CliJson.SerializeCompact(ids, CliJsonContext.Default.Int32Array));
            return 0;
        })));
        return command;
    }
}
