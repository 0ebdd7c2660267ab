using System.Text;

namespace SaeSharp.Dashboards;

/// <summary>Text made safe for HTML, and token strings made readable.</summary>
internal static class HtmlText
{
    /// <summary>Escapes the five characters that could end text or an attribute value.</summary>
    public static string Escape(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        foreach (char c in text)
            builder.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => c.ToString(),
            });
        return builder.ToString();
    }

    /// <summary>
    /// A token as it should be seen, escaped: a space as ·, a newline as ↵, a tab as →, other control characters
    /// as \xNN, so that " the" and "the" or "\n" and "" look different.
    /// </summary>
    public static string Token(string token)
    {
        if (token.Length == 0) return "∅";
        var builder = new StringBuilder(token.Length + 4);
        foreach (char c in token)
        {
            string shown = c switch
            {
                ' ' => "·",
                '\n' => "↵",
                '\r' => "␍",
                '\t' => "→",
                _ when char.IsControl(c) => $"\\x{(int)c:X2}",
                _ => c.ToString(),
            };
            builder.Append(shown);
        }
        return Escape(builder.ToString());
    }
}
