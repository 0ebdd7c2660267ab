namespace SaeSharp.Cli.Tests.Deploy;

/// <summary>
/// A deliberately small reading of the POSIX shell that the manifests in deploy/ use, enough to get the saesharp
/// command lines out of them: lines joined at a trailing backslash; <c>NAME=value</c> lines (and the variables the
/// caller gives, which stand for the scheduler's) kept as variables; words split on blanks, with single and double quotes
/// and <c>$NAME</c> / <c>${NAME}</c> expanded as the shell does for these simple cases (an unquoted word that expands
/// to nothing disappears); the words after a <c>saesharp</c> word are its arguments. Anything cleverer (functions,
/// arrays, command substitution) is out of scope and makes the test fail by naming the variable it cannot resolve.
/// </summary>
internal static class ShellCommandLines
{
    /// <summary>Every saesharp invocation in <paramref name="script"/>, as the argument lists the tool would get.</summary>
    public static List<string[]> Saesharp(string script, IReadOnlyDictionary<string, string> environment)
    {
        var variables = new Dictionary<string, string>(environment, StringComparer.Ordinal);
        var invocations = new List<string[]>();
        foreach (var line in LogicalLines(script))
        {
            var text = line.Trim();
            if (text.Length == 0 || text.StartsWith('#')) continue;
            var assignment = System.Text.RegularExpressions.Regex.Match(text, "^([A-Za-z_][A-Za-z0-9_]*)=(.*)$");
            if (assignment.Success)
            {
                var value = Words(assignment.Groups[2].Value, variables);
                if (value.Count > 1) throw new InvalidOperationException($"`{text}`: an assignment of more than one word");
                variables[assignment.Groups[1].Value] = value.Count == 0 ? "" : value[0];
                continue;
            }
            if (text.StartsWith("export ", StringComparison.Ordinal)) continue;
            var all = Words(text, variables);
            int at = all.IndexOf("saesharp");
            if (at >= 0) invocations.Add(all.Skip(at + 1).ToArray());
        }
        return invocations;
    }

    private static IEnumerable<string> LogicalLines(string script)
    {
        var current = "";
        foreach (var raw in script.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (raw.TrimEnd().EndsWith('\\'))
            {
                current += raw.TrimEnd()[..^1] + " ";
                continue;
            }
            yield return current + raw;
            current = "";
        }
        if (current.Length > 0) yield return current;
    }

    private static List<string> Words(string text, IReadOnlyDictionary<string, string> variables)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        bool inWord = false, quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord && (word.Length > 0 || quoted)) words.Add(word.ToString());
                word.Clear();
                inWord = quoted = false;
                continue;
            }
            inWord = true;
            if (c == '\'')
            {
                int end = text.IndexOf('\'', i + 1);
                word.Append(text, i + 1, end - i - 1);
                quoted = true;
                i = end;
            }
            else if (c == '"')
            {
                int end = text.IndexOf('"', i + 1);
                word.Append(Expand(text[(i + 1)..end], variables));
                quoted = true;
                i = end;
            }
            else if (c == '$')
            {
                int end = i + 1;
                string name;
                if (end < text.Length && text[end] == '{')
                {
                    int close = text.IndexOf('}', end);
                    name = text[(end + 1)..close];
                    end = close + 1;
                }
                else
                {
                    while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) end++;
                    name = text[(i + 1)..end];
                }
                word.Append(Lookup(name, variables));
                i = end - 1;
            }
            else
            {
                word.Append(c);
            }
        }
        if (inWord && (word.Length > 0 || quoted)) words.Add(word.ToString());
        return words;
    }

    private static string Expand(string text, IReadOnlyDictionary<string, string> variables)
    {
        var result = new System.Text.StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '$') { result.Append(text[i]); continue; }
            int end = i + 1;
            string name;
            if (end < text.Length && text[end] == '{')
            {
                int close = text.IndexOf('}', end);
                name = text[(end + 1)..close];
                end = close + 1;
            }
            else
            {
                while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) end++;
                name = text[(i + 1)..end];
            }
            result.Append(Lookup(name, variables));
            i = end - 1;
        }
        return result.ToString();
    }

    private static string Lookup(string name, IReadOnlyDictionary<string, string> variables) =>
        variables.TryGetValue(name, out var value) ? value : throw new InvalidOperationException($"the script uses ${name}, which neither it nor the manifest's environment sets");
}
