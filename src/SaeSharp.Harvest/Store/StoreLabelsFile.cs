using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SaeSharp.IO;

namespace SaeSharp.Harvest.Store;

/// <summary>
/// The byte layout of <c>labels.bin</c> (docs/store-format.md, "Row labels"): a fixed header, the label names,
/// the sequence lengths, the row bitsets and a SHA-256 of everything before it. Every count is checked against
/// the file's length before anything is allocated.
/// </summary>
internal static class StoreLabelsFile
{
    public const int Version = 1;
    private const int HeaderBytes = 64, HashBytes = 32, MaxLabels = 65_536;
    private static ReadOnlySpan<byte> Magic => "SAELABEL"u8;

    public static void Write(string path, StoreManifest manifest, IReadOnlyList<string> names, IReadOnlyList<IReadOnlyList<ulong>> sequences, bool overwrite)
    {
        if (!manifest.Complete)
            throw new SaeSharpException("the store is unfinished; label it once its harvest has completed", path, "complete");
        if (manifest.Input.Kind != "token_ids")
            throw new SaeSharpException($"the store was harvested from a {manifest.Input.Kind}; labels need exact token ids, whose rows map one to one onto the labelled tokens", path, "input.kind");
        if (names.Count is 0 or > 64)
            throw new SaeSharpException($"{names.Count} labels; give between 1 and 64 (one bit each of a ulong per token)", path, "names");
        if (names.Any(string.IsNullOrEmpty) || names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            throw new SaeSharpException("label names must be non-empty and distinct", path, "names");
        if (names.Any(n => Encoding.UTF8.GetByteCount(n) > ushort.MaxValue))
            throw new SaeSharpException("a label name is longer than 65535 UTF-8 bytes", path, "names");
        long rows = sequences.Sum(s => (long)s.Count);
        if (rows != manifest.Rows)
            throw new SaeSharpException($"the sequences hold {rows} tokens but the store has {manifest.Rows} rows; label exactly the sequences that were harvested", path, "rows");
        if (File.Exists(path) && !overwrite)
            throw new SaeSharpException("a label file exists; pass `overwrite` to replace it", path, "overwrite");
        ulong unused = names.Count == 64 ? 0 : ~0UL << names.Count;
        for (int s = 0; s < sequences.Count; s++)
            for (int t = 0; t < sequences[s].Count; t++)
                if ((sequences[s][t] & unused) != 0)
                    throw new SaeSharpException($"sequence {s} token {t} sets a bit past the {names.Count} labels", path, "labels");

        AtomicFile.Write(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes) { stream.Write(bytes); hash.AppendData(bytes); }
            Span<byte> header = stackalloc byte[HeaderBytes];
            header.Clear();
            Magic.CopyTo(header);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], Version);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], names.Count);
            BinaryPrimitives.WriteInt32LittleEndian(header[16..], 1);
            BinaryPrimitives.WriteInt32LittleEndian(header[20..], sequences.Count);
            BinaryPrimitives.WriteInt64LittleEndian(header[24..], rows);
            Convert.FromHexString(manifest.Input.Source.Sha256).CopyTo(header[32..]);
            Put(header);
            Span<byte> word = stackalloc byte[8];
            foreach (var name in names)
            {
                var utf8 = Encoding.UTF8.GetBytes(name);
                BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)utf8.Length);
                Put(word[..2]);
                Put(utf8);
            }
            foreach (var sequence in sequences)
            {
                BinaryPrimitives.WriteInt32LittleEndian(word, sequence.Count);
                Put(word[..4]);
            }
            foreach (var sequence in sequences)
                foreach (var bits in sequence)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(word, bits);
                    Put(word);
                }
            Put(hash.GetHashAndReset());
        });
    }

    public static StoreLabels Read(string path, StoreManifest manifest)
    {
        if (!File.Exists(path)) throw new SaeSharpException("the store has no label file", path);
        long length = new FileInfo(path).Length;
        if (length < HeaderBytes + HashBytes) throw new SaeSharpException($"truncated: {length} bytes, shorter than the {HeaderBytes}-byte header and checksum", path);
        if (length > int.MaxValue) throw new SaeSharpException($"{length} bytes is larger than this reader handles (2 GiB)", path);
        var data = File.ReadAllBytes(path);
        var span = data.AsSpan();
        if (!span[..8].SequenceEqual(Magic)) throw new SaeSharpException("not a SaeSharp label file (the first 8 bytes are not SAELABEL)", path, "magic");
        int version = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
        if (version != Version) throw new SaeSharpException($"version {version}; this reader knows version {Version}", path, "version");
        int labelCount = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
        int wordsPerRow = BinaryPrimitives.ReadInt32LittleEndian(span[16..]);
        int sequenceCount = BinaryPrimitives.ReadInt32LittleEndian(span[20..]);
        long rows = BinaryPrimitives.ReadInt64LittleEndian(span[24..]);
        if (labelCount is < 1 or > MaxLabels) throw new SaeSharpException($"{labelCount} labels is outside [1, {MaxLabels}]", path, "label_count");
        if (wordsPerRow != (labelCount + 63) / 64) throw new SaeSharpException($"{wordsPerRow} words per row for {labelCount} labels; expected {(labelCount + 63) / 64}", path, "words_per_row");
        if (sequenceCount < 0 || rows < 0) throw new SaeSharpException("negative sequence or row count", path, "rows");
        // The fixed-size parts first, so that a corrupt count cannot make us allocate before the length check.
        long fixedBytes = HeaderBytes + 4L * sequenceCount + 8L * wordsPerRow * rows + HashBytes + 2L * labelCount;
        if (fixedBytes > length) throw new SaeSharpException($"truncated: the header promises at least {fixedBytes} bytes, the file has {length}", path);
        var expectedHash = SHA256.HashData(span[..^HashBytes]);
        if (!span[^HashBytes..].SequenceEqual(expectedHash)) throw new SaeSharpException("checksum mismatch: the file is corrupt or truncated", path, "sha256");

        int at = HeaderBytes;
        var names = new string[labelCount];
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        for (int l = 0; l < labelCount; l++)
        {
            if (at + 2 > length - HashBytes) throw new SaeSharpException("truncated inside the label names", path, "names");
            int n = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
            at += 2;
            if (at + n > length - HashBytes) throw new SaeSharpException("truncated inside the label names", path, "names");
            try { names[l] = utf8.GetString(span.Slice(at, n)); }
            catch (DecoderFallbackException) { throw new SaeSharpException($"label {l}'s name is not UTF-8", path, "names"); }
            if (names[l].Length == 0) throw new SaeSharpException($"label {l} has an empty name", path, "names");
            at += n;
        }
        if (names.Distinct(StringComparer.Ordinal).Count() != labelCount) throw new SaeSharpException("two labels share a name", path, "names");
        long expectedLength = at + 4L * sequenceCount + 8L * wordsPerRow * rows + HashBytes;
        if (expectedLength != length) throw new SaeSharpException($"{length} bytes; the header and names call for {expectedLength}", path);
        var lengths = new int[sequenceCount];
        long sum = 0;
        for (int s = 0; s < sequenceCount; s++, at += 4)
        {
            lengths[s] = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
            if (lengths[s] < 0) throw new SaeSharpException($"sequence {s} has a negative length", path, "sequence_lengths");
            sum += lengths[s];
        }
        if (sum != rows) throw new SaeSharpException($"the sequence lengths sum to {sum}, not the {rows} rows", path, "sequence_lengths");
        if (rows != manifest.Rows)
            throw new SaeSharpException($"{rows} labelled rows but the store's manifest has {manifest.Rows}: the labels belong to another harvest", path, "rows");
        if (!span.Slice(32, 32).SequenceEqual(Convert.FromHexString(manifest.Input.Source.Sha256)))
            throw new SaeSharpException("the labels were written for another input than the store's (input.source.sha256 differs)", path, "input_sha256");
        var bits = new ulong[rows * wordsPerRow];
        ulong unused = labelCount % 64 == 0 ? 0 : ~0UL << (labelCount % 64);
        for (long i = 0; i < bits.Length; i++, at += 8)
        {
            bits[i] = BinaryPrimitives.ReadUInt64LittleEndian(span[at..]);
            if (i % wordsPerRow == wordsPerRow - 1 && (bits[i] & unused) != 0)
                throw new SaeSharpException($"row {i / wordsPerRow} sets a bit past the {labelCount} labels", path, "rows");
        }
        return new StoreLabels(Array.AsReadOnly(names), Array.AsReadOnly(lengths), rows, wordsPerRow, bits);
    }
}
