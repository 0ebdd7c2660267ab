namespace SaeSharp.Cli.Internals;

/// <summary>One run of a <see cref="SweepGrid"/>.</summary>
/// <param name="Index">The run's number.</param>
/// <param name="Count">Runs in the sweep.</param>
/// <param name="Settings">Option name and value (null for a flag), shared settings first, then one per axis.</param>
/// <param name="Axes">The names of the grid's axes (the settings that vary between runs).</param>
/// <param name="Directory">The run's output folder.</param>
internal sealed record SweepRun(int Index, int Count, IReadOnlyList<(string Key, string? Value)> Settings, IReadOnlyList<string> Axes, string Directory)
{
    /// <summary>The settings as train arguments (<c>--latents 512 --k 8 --no-normalize</c>), then <c>--out</c> the run's folder.</summary>
    public IReadOnlyList<string> Arguments()
    {
        var args = new List<string>();
        foreach (var (key, value) in Settings)
        {
            args.Add("--" + key);
            if (value is not null) args.Add(value);
        }
        args.Add("--out");
        args.Add(Directory);
        return args;
    }
}
