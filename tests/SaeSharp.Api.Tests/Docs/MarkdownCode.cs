using System.Text.RegularExpressions;

namespace SaeSharp.Api.Tests.Docs;

/// <summary>One fenced code block of a markdown file: its language, the line its fence opens on, and its text.</summary>
internal sealed record CodeBlock(string File, int Line, string Language, string Code)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>Reads the fenced code blocks and the link targets of the repository's markdown files.</summary>
internal static partial class MarkdownCode
{
    /// <summary>Every fenced block of <paramref name="path"/> (relative to the repository root), in order.</summary>
    public static IReadOnlyList<CodeBlock> Blocks(string root, string path)
    {
        var lines = File.ReadAllLines(Path.Combine(root, path));
        var blocks = new List<CodeBlock>();
        for (int i = 0; i < lines.Length; i++)
        {
            var open = lines[i].TrimStart();
            if (!open.StartsWith("```", StringComparison.Ordinal)) continue;
            string language = open[3..].Trim().Split(' ', 2)[0];
            int start = i;
            var code = new List<string>();
            for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal); i++)
                code.Add(lines[i]);
            if (i == lines.Length) throw new InvalidDataException($"{path}:{start + 1}: code fence never closed");
            blocks.Add(new CodeBlock(path, start + 1, language, string.Join('\n', code)));
        }
        return blocks;
    }

    /// <summary>The C# blocks (fenced as <c>csharp</c> or <c>cs</c>).</summary>
    public static IEnumerable<CodeBlock> CSharpBlocks(string root, string path) =>
        Blocks(root, path).Where(b => b.Language is "csharp" or "cs" or "c#");

    /// <summary>Targets of inline links and images (<c>[text](target)</c>), outside code blocks and code spans.</summary>
    public static IReadOnlyList<string> LinkTargets(string root, string path)
    {
        var text = File.ReadAllText(Path.Combine(root, path));
        text = FencedBlock().Replace(text, "");
        text = CodeSpan().Replace(text, "");
        return Link().Matches(text).Select(m => m.Groups["target"].Value).ToList();
    }

    /// <summary>Bare addresses (http://, https://, www.) anywhere outside code.</summary>
    public static IReadOnlyList<string> BareAddresses(string root, string path)
    {
        var text = File.ReadAllText(Path.Combine(root, path));
        text = FencedBlock().Replace(text, "");
        text = CodeSpan().Replace(text, "");
        return Address().Matches(text).Select(m => m.Value).ToList();
    }

    [GeneratedRegex("^\\s*```.*?^\\s*```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FencedBlock();

    [GeneratedRegex("`[^`\n]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex("!?\\[[^\\]]*\\]\\((?<target>[^)\\s]+)(\\s+\"[^\"]*\")?\\)")]
    private static partial Regex Link();

    [GeneratedRegex("(https?://|www\\.)[^\\s)>\\]]+", RegexOptions.IgnoreCase)]
    private static partial Regex Address();
}
