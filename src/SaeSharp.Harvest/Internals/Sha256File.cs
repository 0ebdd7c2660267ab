using System.Security.Cryptography;

namespace SaeSharp.Harvest.Internals;

/// <summary>SHA-256 fingerprints of files, lower-case hex.</summary>
internal static class Sha256File
{
    public static string Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
