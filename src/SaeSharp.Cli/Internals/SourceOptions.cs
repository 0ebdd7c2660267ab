using System.CommandLine;
using System.Globalization;
using SaeSharp.Training;

namespace SaeSharp.Cli.Internals;

/// <summary>
/// The data-source options shared by train and eval, and the description of a source kept in a run's
/// metadata (<c>source</c>, <c>source.*</c>) so that resume and eval reopen exactly the same rows.
/// </summary>
internal sealed class SourceOptions
{
    private readonly Option<string> _kind = new("--source") { Description = "Activation source: synthetic (known ground truth) or store (a harvested activation store; implied by --store).", DefaultValueFactory = _ => "synthetic" };
    private readonly Option<string?> _store = new("--store") { Description = "Store: the activation store folder to train on." };
    private readonly Option<string?> _hook = new("--hook") { Description = "Store: the hook whose rows to train on (e.g. resid_post.2)." };
    private readonly Option<int> _inputDim = new("--d-in") { Description = "Synthetic: row width D.", DefaultValueFactory = _ => 64 };
    private readonly Option<int> _trueFeatures = new("--true-features") { Description = "Synthetic: size of the true dictionary.", DefaultValueFactory = _ => 512 };
    private readonly Option<int> _active = new("--active") { Description = "Synthetic: true features active in each row.", DefaultValueFactory = _ => 8 };
    private readonly Option<double> _noise = new("--noise") { Description = "Synthetic: noise standard deviation.", DefaultValueFactory = _ => 0.01 };
    private readonly Option<long?> _sourceSeed = new("--source-seed") { Description = "Synthetic: seed of the dictionary and rows (default: --seed)." };

    public SourceOptions()
    {
        _kind.AcceptOnlyFromAmong("synthetic", "store");
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _kind, _store, _hook, _inputDim, _trueFeatures, _active, _noise, _sourceSeed })
            command.Options.Add(option);
    }

    public SourceSpec Read(ParseResult result, long defaultSeed) => (result.GetValue(_store) is not null ? "store" : result.GetValue(_kind)) switch
    {
        "store" => new StoreSpec(
            result.GetValue(_store) ?? throw new SaeSharpException("--source store needs --store PATH", field: "--store"),
            result.GetValue(_hook) ?? throw new SaeSharpException("training on a store needs --hook (see saesharp store inspect)", field: "--hook"),
            (ulong)(result.GetValue(_sourceSeed) ?? defaultSeed)),
        _ => new SyntheticSpec(new SyntheticSourceConfig(result.GetValue(_inputDim), result.GetValue(_trueFeatures), result.GetValue(_active))
        {
            Noise = result.GetValue(_noise),
            Seed = result.GetValue(_sourceSeed) ?? defaultSeed,
        }.Validate()),
    };

    /// <summary>Reopens the source a run recorded in its metadata.</summary>
    public static IActivationSource Reopen(IReadOnlyDictionary<string, string> metadata, string origin)
    {
        if (!metadata.TryGetValue("source", out var kind))
            throw new SaeSharpException("the run does not record its activation source; pass the source options", origin, "source");
        return kind switch
        {
            "synthetic" => new SyntheticActivationSource(new SyntheticSourceConfig(
                Int(metadata, "source.d_in", origin), Int(metadata, "source.true_features", origin), Int(metadata, "source.active", origin))
            {
                Noise = Double(metadata, "source.noise", origin),
                Seed = Long(metadata, "source.seed", origin),
            }.Validate()),
            "store" => new StoreSpec(
                metadata.TryGetValue("source.path", out var path) ? path : throw new SaeSharpException("missing", origin, "source.path"),
                metadata.TryGetValue("source.hook", out var hook) ? hook : throw new SaeSharpException("missing", origin, "source.hook"),
                UnsignedLong(metadata, "source.seed", origin)).Open(),
            _ => throw new SaeSharpException($"unknown source kind \"{kind}\"", origin, "source"),
        };
    }

    private static int Int(IReadOnlyDictionary<string, string> m, string key, string origin) =>
        m.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i : throw new SaeSharpException("missing or not an integer", origin, key);

    // Seeds are 64-bit end to end: a synthetic source's is signed, a store's row order takes the unsigned bits.
    private static long Long(IReadOnlyDictionary<string, string> m, string key, string origin) =>
        m.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i : throw new SaeSharpException("missing or not a 64-bit integer", origin, key);

    private static ulong UnsignedLong(IReadOnlyDictionary<string, string> m, string key, string origin) =>
        m.TryGetValue(key, out var v) && ulong.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i : throw new SaeSharpException("missing or not an unsigned 64-bit integer", origin, key);

    private static double Double(IReadOnlyDictionary<string, string> m, string key, string origin) =>
        m.TryGetValue(key, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d : throw new SaeSharpException("missing or not a number", origin, key);
}

/// <summary>A data source as chosen on the command line: opens it and describes it for the run's metadata.</summary>
internal abstract record SourceSpec
{
    public abstract IActivationSource Open();

    public abstract IReadOnlyDictionary<string, string> ToMetadata();
}

internal sealed record SyntheticSpec(SyntheticSourceConfig Config) : SourceSpec
{
    public override IActivationSource Open() => new SyntheticActivationSource(Config);

    public override IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>
    {
        ["source"] = "synthetic",
        ["source.d_in"] = Config.InputDim.ToString(CultureInfo.InvariantCulture),
        ["source.true_features"] = Config.TrueFeatures.ToString(CultureInfo.InvariantCulture),
        ["source.active"] = Config.ActivePerRow.ToString(CultureInfo.InvariantCulture),
        ["source.noise"] = Config.Noise.ToString("R", CultureInfo.InvariantCulture),
        ["source.seed"] = Config.Seed.ToString(CultureInfo.InvariantCulture),
    };
}

internal sealed record StoreSpec(string Path, string Hook, ulong Seed) : SourceSpec
{
    public override IActivationSource Open() =>
        SaeSharp.Harvest.Store.StoreActivationSource.Open(Path, Hook, new SaeSharp.Harvest.Store.StoreSourceOptions { Seed = Seed });

    public override IReadOnlyDictionary<string, string> ToMetadata()
    {
        using var store = SaeSharp.Harvest.Store.ActivationStore.Open(Path);
        return new Dictionary<string, string>
        {
            ["source"] = "store",
            ["source.path"] = System.IO.Path.GetFullPath(Path),
            ["source.hook"] = Hook,
            ["source.seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            // What SAELens' ActivationsStore.from_sae needs to collect activations like these (SaeCheckpoint writes
            // them typed). A store never starts each context with BOS (its optional BOS goes before each document,
            // and contexts are cut anywhere), which is SAELens' prepend_bos false.
            ["hook_name"] = Hook,
            ["context_size"] = store.Manifest.ContextLength.ToString(CultureInfo.InvariantCulture),
            ["prepend_bos"] = "false",
        };
    }
}
