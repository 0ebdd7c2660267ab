using System.Diagnostics;
using System.Text;

namespace SaeSharp.Testing;

/// <summary>
/// A small, deterministic mutation fuzzer for the parsers: each case takes a valid seed file and truncates it,
/// flips, inserts or deletes bytes, plants invalid UTF-8, retypes a JSON value or repeats a JSON key. A parser may
/// accept the result or throw <see cref="SaeSharpException"/>; anything else fails the test, naming the case and
/// its bytes so it can be replayed.
/// </summary>
internal static class Fuzz
{
    /// <summary>One seed for every run, so a failure reproduces.</summary>
    public const int Seed = 20261129;

    private static readonly string[] JsonReplacements =
    [
        "null", "true", "false", "0", "-1", "1.5", "1e309", "-9223372036854775809", "18446744073709551616", "2147483648",
        "\"\"", "\"1\"", "\"x\"", "\"F32, F64\"", "[]", "[null]", "[\"1\", \"2\"]", "{}", "{\"a\": 1}", "\"\\ud800\"",
    ];

    /// <summary>
    /// Runs <paramref name="cases"/> mutations of <paramref name="seeds"/> through <paramref name="parse"/>. The counts are
    /// sized to finish in about two seconds on a quiet machine; <paramref name="budget"/> only caps a loaded one (the
    /// cases that run are then a prefix of the same sequence), so the test command stays fast.
    /// </summary>
    public static int Run(IReadOnlyList<byte[]> seeds, int cases, Action<byte[]> parse, TimeSpan budget, Func<byte[], Random, byte[]>? mutate = null, Action<string>? log = null)
    {
        var rng = new Random(Seed);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        int run = 0;
        for (int i = 0; i < cases && clock.Elapsed < budget; i++, run++)
        {
            var seed = seeds[rng.Next(seeds.Count)];
            var input = (mutate ?? Mutate)(seed, rng);
            try
            {
                parse(input);
            }
            catch (SaeSharpException)
            {
            }
#pragma warning disable CA1031 // the point is to catch every other exception
            catch (Exception e)
#pragma warning restore CA1031
            {
                if (failures.Count < 5)
                    failures.Add($"case {i}: {e.GetType().FullName}: {e.Message}\n  input: {Preview(input)}\n{e.StackTrace}");
            }
        }
        log?.Invoke($"{run} of {cases} cases in {clock.ElapsedMilliseconds} ms");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        return run;
    }

    /// <summary>One random mutation; JSON-aware ones when the seed looks like JSON text.</summary>
    public static byte[] Mutate(byte[] seed, Random rng)
    {
        int kind = rng.Next(9);
        bool json = seed.Length > 0 && (seed[0] == (byte)'{' || seed[0] == (byte)'[');
        if (json && kind >= 6)
            return kind switch
            {
                6 or 7 => RetypeJsonValue(seed, rng),
                _ => DuplicateJsonKey(seed, rng),
            };
        return Bytes(seed, rng, kind);
    }

    /// <summary>A safetensors file whose JSON header is mutated and re-framed (or the whole file, half the time).</summary>
    public static byte[] MutateSafeTensors(byte[] file, Random rng)
    {
        if (rng.Next(2) == 0 || file.Length < 8) return Bytes(file, rng, rng.Next(6));
        int length = (int)BitConverter.ToUInt64(file, 0);
        var header = file.AsSpan(8, length).ToArray();
        var mutated = rng.Next(3) switch { 0 => RetypeJsonValue(header, rng), 1 => DuplicateJsonKey(header, rng), _ => Bytes(header, rng, rng.Next(6)) };
        var result = new byte[8 + mutated.Length + file.Length - 8 - length];
        BitConverter.GetBytes((ulong)mutated.Length).CopyTo(result, 0);
        mutated.CopyTo(result, 8);
        file.AsSpan(8 + length).CopyTo(result.AsSpan(8 + mutated.Length));
        return result;
    }

    private static byte[] Bytes(byte[] seed, Random rng, int kind)
    {
        var list = new List<byte>(seed);
        int at = list.Count == 0 ? 0 : rng.Next(list.Count);
        switch (kind)
        {
            case 0: // truncate
                return seed.AsSpan(0, rng.Next(seed.Length + 1)).ToArray();
            case 1: // flip bits in a few bytes
                for (int n = rng.Next(1, 4); n > 0 && list.Count > 0; n--)
                    list[rng.Next(list.Count)] ^= (byte)(1 << rng.Next(8));
                break;
            case 2: // random byte values
                for (int n = rng.Next(1, 4); n > 0 && list.Count > 0; n--)
                    list[rng.Next(list.Count)] = (byte)rng.Next(256);
                break;
            case 3: // invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong form, a surrogate
                byte[][] bad = [[0x80], [0xC3], [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]];
                list.InsertRange(at, bad[rng.Next(bad.Length)]);
                break;
            case 4: // delete a run
                list.RemoveRange(at, Math.Min(list.Count - at, rng.Next(1, 16)));
                break;
            default: // insert structural characters
                byte[] chars = "{}[]\",:-0123456789"u8.ToArray();
                for (int n = rng.Next(1, 4); n > 0; n--)
                    list.Insert(Math.Min(at, list.Count), chars[rng.Next(chars.Length)]);
                break;
        }
        return list.ToArray();
    }

    private static byte[] RetypeJsonValue(byte[] seed, Random rng)
    {
        var text = Encoding.UTF8.GetString(seed);
        var starts = ValueStarts(text);
        if (starts.Count == 0) return Bytes(seed, rng, 1);
        int start = starts[rng.Next(starts.Count)];
        int end = ValueEnd(text, start);
        return Encoding.UTF8.GetBytes(text[..start] + JsonReplacements[rng.Next(JsonReplacements.Length)] + text[end..]);
    }

    private static byte[] DuplicateJsonKey(byte[] seed, Random rng)
    {
        var text = Encoding.UTF8.GetString(seed);
        var members = new List<(int KeyStart, int End)>();
        var mask = StringMask(text);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != ':' || mask[i]) continue;
            int close = text.LastIndexOf('"', i);
            int open = close > 0 ? text.LastIndexOf('"', close - 1) : -1;
            if (open < 0) continue;
            members.Add((open, ValueEnd(text, SkipSpace(text, i + 1))));
        }
        if (members.Count == 0) return Bytes(seed, rng, 1);
        var (keyStart, valueEnd) = members[rng.Next(members.Count)];
        return Encoding.UTF8.GetBytes(text[..keyStart] + text[keyStart..valueEnd] + ", " + text[keyStart..]);
    }

    private static List<int> ValueStarts(string text)
    {
        var starts = new List<int>();
        var mask = StringMask(text);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is ':' or ',' or '[' && !mask[i])
            {
                int s = SkipSpace(text, i + 1);
                if (s < text.Length && text[s] is not (']' or '}')) starts.Add(s);
            }
        }
        return starts;
    }

    private static int SkipSpace(string text, int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        return i;
    }

    /// <summary>The end of the JSON value starting at <paramref name="start"/> (approximate on broken input, which is fine here).</summary>
    private static int ValueEnd(string text, int start)
    {
        if (start >= text.Length) return text.Length;
        if (text[start] == '"')
        {
            for (int i = start + 1; i < text.Length; i++)
            {
                if (text[i] == '\\') { i++; continue; }
                if (text[i] == '"') return i + 1;
            }
            return text.Length;
        }
        if (text[start] is '[' or '{')
        {
            int depth = 0;
            bool inString = false;
            for (int i = start; i < text.Length; i++)
            {
                char c = text[i];
                if (inString) { if (c == '\\') i++; else if (c == '"') inString = false; continue; }
                if (c == '"') inString = true;
                else if (c is '[' or '{') depth++;
                else if (c is ']' or '}' && --depth == 0) return i + 1;
            }
            return text.Length;
        }
        int j = start;
        while (j < text.Length && text[j] is not (',' or '}' or ']') && !char.IsWhiteSpace(text[j])) j++;
        return j;
    }

    /// <summary>Which characters lie inside a string literal, in one pass.</summary>
    private static bool[] StringMask(string text)
    {
        var mask = new bool[text.Length];
        bool inString = false;
        for (int i = 0; i < text.Length; i++)
        {
            mask[i] = inString;
            if (inString && text[i] == '\\') { if (i + 1 < text.Length) mask[i + 1] = true; i++; continue; }
            if (text[i] == '"') inString = !inString;
        }
        return mask;
    }

    private static string Preview(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        return text.Length <= 400 ? text : text[..400] + $"… ({input.Length} bytes)";
    }
}
