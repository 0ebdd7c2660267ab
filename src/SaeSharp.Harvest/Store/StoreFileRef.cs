namespace SaeSharp.Harvest.Store;

/// <summary>A file an activation store was made from (model, tokenizer, input), identified by name, size and SHA-256.</summary>
/// <param name="File">File name, without its folder.</param>
/// <param name="Bytes">Size in bytes.</param>
/// <param name="Sha256">SHA-256 of the content, 64 lower-case hexadecimal digits.</param>
public sealed record StoreFileRef(string File, long Bytes, string Sha256);
