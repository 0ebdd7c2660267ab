using System.CommandLine;
using System.Globalization;
using SaeSharp.Analysis;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Cli.Reporting;
using SaeSharp.Harvest.Store;
using SaeSharp.IO;
using SaeSharp.Testbeds.Stories;
using static TorchSharp.torch;

namespace SaeSharp.Cli.Commands;

/// <summary>
/// <c>saesharp analyze geometry</c>: the feature geometry of Li et al. on a saved SAE: galaxy scale from its decoder,
/// lobe scale from a store's rows, crystal scale from a story host's word pairs.
/// </summary>
internal static class GeometryCommand
{
    public const string SpectrumFile = "geometry-spectrum.png", AffinityFile = "geometry-affinity.png", ReportFile = "geometry.html";

    internal static Command Create()
    {
        var saeOption = new Option<string>("--sae") { Description = "SAE folder (SAELens layout).", Required = true };
        var storeOption = new Option<string?>("--store") { Description = "Activation store for the lobe scale (co-occurrence over blocks of consecutive rows)." };
        var hookOption = new Option<string?>("--hook") { Description = "Hook of the store whose rows the SAE reads." };
        var rows = new Option<long>("--rows") { Description = "Store rows to read from the first, in order.", DefaultValueFactory = _ => 65536 };
        var firstRank = new Option<int?>("--first-rank") { Description = "First 1-based eigenvalue rank of the power-law fit (default: automatic, see docs/analysis.md)." };
        var lastRank = new Option<int?>("--last-rank") { Description = "Last 1-based eigenvalue rank of the fit." };
        var blockSize = new Option<int>("--block-size") { Description = "Rows per co-occurrence block.", DefaultValueFactory = _ => new LobeOptions().BlockSize };
        var clusters = new Option<int>("--clusters") { Description = "Spectral clusters of the lobe scale.", DefaultValueFactory = _ => new LobeOptions().Clusters };
        var maxLatents = new Option<int>("--max-latents") { Description = "Most often firing latents clustered at the lobe scale.", DefaultValueFactory = _ => new LobeOptions().MaxLatents };
        var storyHost = new Option<string?>("--story-host") { Description = "Story host folder (saesharp host train-stories) for the crystal scale: its word pairs under plural, past and female." };
        var storySeed = new Option<ulong>("--story-seed") { Description = "Seed the story host was trained with.", DefaultValueFactory = _ => 0 };
        var storyHook = new Option<string>("--story-hook") { Description = "Residual point of the story host whose word vectors are compared.", DefaultValueFactory = _ => "resid_post.1" };
        var stories = new Option<int>("--stories") { Description = "Generated stories whose word occurrences are averaged.", DefaultValueFactory = _ => 400 };
        var seed = new Option<int>("--seed") { Description = "Seed of the isotropic baseline, k-means and the shuffles.", DefaultValueFactory = _ => 0 };
        var outOption = new Option<string?>("--out") { Description = "Folder for the figures and geometry.html." };
        var force = new Option<bool>("--force") { Description = "Replace figures already in --out." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("geometry",
            "Feature geometry (Li et al.): power law of the decoder's covariance spectrum and clustering entropy vs an isotropic cloud; with a store, AMI of co-occurrence vs decoder clusters vs a shuffled null; with a story host, relation silhouette of word-pair differences vs a shuffled null.");
        foreach (var option in new Option[] { saeOption, storeOption, hookOption, rows, firstRank, lastRank, blockSize, clusters, maxLatents, storyHost, storySeed, storyHook, stories, seed, outOption, force, json })
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CommandRunner.RunAsync(() =>
        {
            var directory = Path.GetFullPath(result.GetValue(saeOption)!);
            var galaxyOptions = new GalaxyOptions { FirstRank = result.GetValue(firstRank), LastRank = result.GetValue(lastRank), Seed = result.GetValue(seed) }.Validate();
            var lobeOptions = new LobeOptions
            {
                BlockSize = result.GetValue(blockSize), Clusters = result.GetValue(clusters), MaxLatents = result.GetValue(maxLatents), Seed = result.GetValue(seed),
            }.Validate();
            var outDir = result.GetValue(outOption);
            string[] figureNames = [SpectrumFile, AffinityFile, ReportFile];
            if (outDir is not null && !result.GetValue(force) && figureNames.FirstOrDefault(f => File.Exists(Path.Combine(outDir, f))) is { } existing)
                throw new SaeSharpException("already exists; pass --force to replace it", Path.GetFullPath(Path.Combine(outDir, existing)));
            var storePath = result.GetValue(storeOption);
            var hook = result.GetValue(hookOption);
            if ((storePath is null) != (hook is null))
                throw new SaeSharpException("the lobe scale needs both --store and --hook", field: storePath is null ? "--store" : "--hook");

            using var sae = SaeCheckpoint.Load(directory);
            var galaxy = GalaxyGeometry.Analyze(sae.DecoderWeights, galaxyOptions);

            LobeResult? lobes = null;
            long? rowCount = null;
            if (storePath is not null)
            {
                storePath = Path.GetFullPath(storePath);
                using var x = ReadStoreRows(storePath, hook!, sae.InputDim, result.GetValue(rows));
                rowCount = x.shape[0];
                lobes = LobeGeometry.Analyze(LatentActivations.FromSae(sae, x), sae.DecoderWeights, lobeOptions);
            }

            CrystalResult? crystals = null;
            var hostFolder = result.GetValue(storyHost);
            if (hostFolder is not null)
            {
                hostFolder = Path.GetFullPath(hostFolder);
                using var host = StoryHostCache.TryLoad(new StoryHostOptions { Seed = result.GetValue(storySeed) }, hostFolder)
                    ?? throw new SaeSharpException($"does not hold the default story host trained with seed {result.GetValue(storySeed)} (saesharp host train-stories writes one)", hostFolder);
                using var vectors = StoryRelations.WordVectors(host.Model, host.Vocabulary, result.GetValue(storyHook)!, result.GetValue(stories));
                crystals = CrystalGeometry.Analyze(vectors.FirstPD, vectors.SecondPD, vectors.Relations, new CrystalOptions { Seed = result.GetValue(seed) });
            }

            var figures = new List<string>();
            if (outDir is not null)
            {
                Directory.CreateDirectory(outDir);
                void Write(string name, byte[] bytes)
                {
                    var path = Path.GetFullPath(Path.Combine(outDir, name));
                    AtomicFile.Write(path, stream => stream.Write(bytes));
                    figures.Add(path);
                }
                Write(SpectrumFile, GeometrySection.Spectrum(galaxy));
                if (lobes is not null) Write(AffinityFile, GeometrySection.Affinity(lobes));
                var report = GeometrySection.Append(new HtmlReport($"SaeSharp feature geometry: {directory}"), galaxy, lobes, crystals);
                var reportPath = Path.GetFullPath(Path.Combine(outDir, ReportFile));
                AtomicFile.WriteAllText(reportPath, report.Render());
                figures.Add(reportPath);
            }

            var output = GeometryOutput.From(directory, galaxyOptions.Confidence, galaxy, storePath is null ? null : $"{storePath}#{hook}", rowCount, lobes,
                hostFolder, hostFolder is null ? null : result.GetValue(storyHook), crystals, figures);
            if (result.GetValue(json))
                CliJson.Print(output, CliJsonContext.Default.GeometryOutput);
            else
                Console.Out.WriteLine(CliJson.Lines(output, CliJsonContext.Default.GeometryOutput, nameWidth: 28, withArrays: true));
            return Task.FromResult(0);
        }));
        return command;
    }

    // The first rows of the hook in store order: blocks of consecutive rows are blocks of consecutive tokens.
    private static Tensor ReadStoreRows(string storePath, string hook, int inputDim, long requested)
    {
        using var store = ActivationStore.Open(storePath);
        int hookIndex = store.HookIndex(hook);
        int d = store.Hooks[hookIndex].D;
        if (d != inputDim)
            throw new SaeSharpException($"hook {hook} has width {d} but the SAE reads {inputDim}", field: "--sae");
        if (requested < 1) throw new SaeSharpException(string.Create(CultureInfo.InvariantCulture, $"{requested} must be at least 1"), field: "--rows");
        long n = Math.Min(requested, store.Rows);
        if (n * d > Array.MaxLength)
            throw new SaeSharpException($"{n} rows of width {d} do not fit one array; pass fewer", field: "--rows");
        var x = new float[n * d];
        for (long start = 0; start < n; start += 4096)
        {
            int count = (int)Math.Min(4096, n - start);
            store.ReadRows(hookIndex, start, count, x.AsSpan((int)(start * d), count * d));
        }
        return tensor(x, [n, d]);
    }
}
