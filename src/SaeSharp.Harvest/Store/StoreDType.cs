using System.Text.Json.Serialization;

namespace SaeSharp.Harvest.Store;

/// <summary>Element type of stored rows (<c>dtype</c> in the manifest).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StoreDType>))]
public enum StoreDType
{
    /// <summary>IEEE float32, little-endian (<c>f32</c>).</summary>
    [JsonStringEnumMemberName("f32")]
    F32,

    /// <summary>IEEE float16, little-endian (<c>f16</c>), rounded to nearest even; half the disk, about 3 decimal digits.</summary>
    [JsonStringEnumMemberName("f16")]
    F16,
}
