namespace SaeSharp.IO;

/// <summary>Element types of the safetensors format, named as the format writes them.</summary>
public enum SafeTensorDType
{
    /// <summary>float64.</summary>
    F64,
    /// <summary>float32.</summary>
    F32,
    /// <summary>IEEE half precision.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>int64.</summary>
    I64,
    /// <summary>int32.</summary>
    I32,
    /// <summary>int16.</summary>
    I16,
    /// <summary>int8.</summary>
    I8,
    /// <summary>uint8.</summary>
    U8,
    /// <summary>bool, one byte each.</summary>
    BOOL,
}
