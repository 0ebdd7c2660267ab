namespace SaeSharp.Crosscoders.Analysis;

/// <summary>Where a crosscoder latent lives, read from how its decoder norm splits between two sources.</summary>
public enum LatentClass
{
    /// <summary>Never fired on the analysed rows; not classified.</summary>
    Dead,

    /// <summary>Relative norm between the thresholds: both sources use the latent.</summary>
    Shared,

    /// <summary>Relative norm at or below the low threshold: the decoder lives in source A.</summary>
    AOnly,

    /// <summary>Relative norm at or above the high threshold: the decoder lives in source B.</summary>
    BOnly,
}
