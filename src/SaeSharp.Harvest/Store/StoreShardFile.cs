namespace SaeSharp.Harvest.Store;

/// <summary>The rows of one hook in one shard: raw little-endian numbers, <c>rows × d</c>, no header.</summary>
/// <param name="Path">Path relative to the store folder, <c>/</c>-separated (<c>hook-000/shard-000000.bin</c>).</param>
/// <param name="Bytes">Exact file size: rows × d × element size.</param>
/// <param name="Sha256">SHA-256 of the whole file, 64 lower-case hexadecimal digits.</param>
public sealed record StoreShardFile(string Path, long Bytes, string Sha256);
