namespace SaeSharp.Harvest.Store;

/// <summary>Element type of stored rows.</summary>
public enum StoreDType
{
    /// <summary>IEEE float32, little-endian (<c>f32</c>).</summary>
    F32,

    /// <summary>IEEE float16, little-endian (<c>f16</c>), rounded to nearest even; half the disk, about 3 decimal digits.</summary>
    F16,
}
