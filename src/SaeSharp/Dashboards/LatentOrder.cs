namespace SaeSharp.Dashboards;

/// <summary>Which latents a dashboard shows first.</summary>
public enum LatentOrder
{
    /// <summary>Most frequently firing first (dead latents left out).</summary>
    Density,

    /// <summary>Highest best-label F1 first, then by density (needs label scores).</summary>
    LabelMatch,
}
