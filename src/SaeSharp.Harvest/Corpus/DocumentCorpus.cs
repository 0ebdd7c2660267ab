using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace SaeSharp.Harvest.Corpus;

/// <summary>
/// A corpus file indexed by document: the index holds byte ranges only, so a large file is not held in memory
/// and any document can be read directly (what a resumable, seeded order needs). Whitespace-only documents are skipped.
/// </summary>
public sealed class DocumentCorpus : IDisposable
{
    private static readonly byte[] EndOfText = Encoding.UTF8.GetBytes("<|endoftext|>");
    private readonly SafeFileHandle _handle;
    private readonly List<(long Offset, int Length, long Line)> _documents;

    private DocumentCorpus(string path, CorpusFormat format, string textField, SafeFileHandle handle, List<(long, int, long)> documents)
    {
        Path = path;
        Format = format;
        TextField = textField;
        _handle = handle;
        _documents = documents;
    }

    /// <summary>The corpus file.</summary>
    public string Path { get; }

    /// <summary>How the file is split.</summary>
    public CorpusFormat Format { get; }

    /// <summary>The JSON field holding the text, for <see cref="CorpusFormat.JsonLines"/>.</summary>
    public string TextField { get; }

    /// <summary>Number of documents.</summary>
    public long Count => _documents.Count;

    /// <summary>Indexes <paramref name="path"/>.</summary>
    /// <exception cref="SaeSharpException">The file is missing or holds no document.</exception>
    public static DocumentCorpus Open(string path, CorpusFormat format, string textField = "text")
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new SaeSharpException("corpus file not found", full, "corpus_path");
        if (!Enum.IsDefined(format)) throw new SaeSharpException($"{format} is not a corpus format", full, "corpus_format");
        var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var documents = format == CorpusFormat.Text ? IndexSeparated(handle, EndOfText) : IndexSeparated(handle, "\n"u8.ToArray());
            if (documents.Count == 0)
                throw new SaeSharpException("the corpus is empty: no document with any non-whitespace text", full, "corpus_path");
            return new DocumentCorpus(full, format, textField, handle, documents);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The text of document <paramref name="index"/> (file order).</summary>
    /// <exception cref="SaeSharpException">A JSON line is malformed or lacks the text field.</exception>
    public string Read(long index)
    {
        var (offset, length, line) = _documents[checked((int)index)];
        var bytes = new byte[length];
        int read = 0;
        while (read < length)
        {
            int n = RandomAccess.Read(_handle, bytes.AsSpan(read), offset + read);
            if (n == 0) throw new SaeSharpException("the corpus file shrank while being read", Path);
            read += n;
        }
        if (Format != CorpusFormat.JsonLines) return Encoding.UTF8.GetString(bytes).TrimEnd('\r');
        try
        {
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty(TextField, out var text) || text.ValueKind != JsonValueKind.String)
                throw new SaeSharpException($"line {line} has no string field `{TextField}`", Path, "text_field");
            return text.GetString()!;
        }
        catch (JsonException e)
        {
            throw new SaeSharpException($"line {line} is not valid JSON: {e.Message}", Path, inner: e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

    private static List<(long, int, long)> IndexSeparated(SafeFileHandle handle, byte[] separator)
    {
        var documents = new List<(long, int, long)>();
        long fileLength = RandomAccess.GetLength(handle);
        var buffer = new byte[1 << 20];
        long start = 0, line = 1, bufferStart = 0;
        int filled = 0;
        bool nonBlank = false;
        void Close(long end)
        {
            if (nonBlank)
            {
                if (end - start > int.MaxValue) throw new SaeSharpException($"a document is longer than {int.MaxValue} bytes", field: "corpus_path");
                documents.Add((start, (int)(end - start), line));
            }
            nonBlank = false;
        }
        // Slide a window over the file; keep separator-1 bytes between reads so a separator split across reads is found.
        long position = 0;
        while (true)
        {
            int n = RandomAccess.Read(handle, buffer.AsSpan(filled), position);
            position += n;
            filled += n;
            bool end = n == 0 || position >= fileLength;
            int scanLimit = end ? filled : Math.Max(0, filled - (separator.Length - 1));
            int i = 0;
            while (i < scanLimit)
            {
                byte b = buffer[i];
                if (b == separator[0] && i + separator.Length <= filled && buffer.AsSpan(i, separator.Length).SequenceEqual(separator))
                {
                    Close(bufferStart + i);
                    if (separator.Length == 1) line++;
                    start = bufferStart + i + separator.Length;
                    i += separator.Length;
                    continue;
                }
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')) nonBlank = true;
                i++;
            }
            if (end)
            {
                Close(bufferStart + filled);
                break;
            }
            // Keep the unscanned tail.
            int keep = filled - i;
            Buffer.BlockCopy(buffer, i, buffer, 0, keep);
            bufferStart += i;
            filled = keep;
        }
        return documents;
    }
}
