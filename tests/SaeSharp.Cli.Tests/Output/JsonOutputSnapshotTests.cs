using System.CommandLine;
using System.CommandLine.Help;
using SaeSharp.Analysis;
using SaeSharp.Cli.Commands;
using SaeSharp.Cli.Internals;
using SaeSharp.Cli.Output;
using SaeSharp.Crosscoders;
using SaeSharp.Crosscoders.Analysis;
using SaeSharp.Evaluation;
using SaeSharp.Harvest;
using SaeSharp.Harvest.Onnx;
using SaeSharp.Harvest.Store;
using SaeSharp.Hosts;
using SaeSharp.Lora;
using SaeSharp.Testbeds.Demos;
using SaeSharp.Testbeds.ModularAddition;
using SaeSharp.Testbeds.Stories;
using SaeSharp.Throughput;
using SaeSharp.Training;

namespace SaeSharp.Cli.Tests.Output;

/// <summary>
/// Every <c>--json</c> output record, built from fixed library results (no command runs), against its committed snapshot;
/// and the top-level <c>--help</c>. A failure shows both texts and how to update the snapshot.
/// </summary>
public sealed class JsonOutputSnapshotTests
{
    private static readonly CliJsonContext Json = CliJsonContext.Default;

    private static TrainMetrics Metrics(params double[] sourceFvu) => new(
        Step: 2500, Tokens: 2_560_000, LearningRate: 2e-3, Loss: 0.0875, Mse: 0.000125, Fvu: 0.0625, L0: 8, DeadFraction: 0.015625,
        DenseFraction: 0, AuxKLoss: 0.5, SparsityLoss: 0, ElapsedSeconds: 61.5, SourceFvu: sourceFvu);

    private static readonly EvalMetrics Eval = new(Rows: 16384, Mse: 0.0125, Fvu: 0.0703125, L0: 7.75, DeadFraction: 0.03125, DenseFraction: 0.001953125, CosineSimilarity: 0.96875);

    [Fact]
    public void Bench_FixedReport_MatchesSnapshot() => Snapshot.Match("bench.json", CliJson.Serialize(BenchOutput.From(new ThroughputReport(
        D: 768, M: 16384, K: 32, Batch: 4096, Threads: 2,
        TokensPerSecondFused: 1709.0417, TokensPerSecondAutograd: 117.5123, GemmGflops: 170.2468, EncoderGemmGflops: 161.7734,
        CeilingTokensPerSecond: 2095.3791, FractionOfCeiling: 0.815624, SpeedupOverAutograd: 14.5433,
        FusedStepMs: 2396.66666, AutogradStepMs: 34855.123, EncoderGemmMs: 1954.7777, LoadAverageBefore: 1.8, LoadAverageAfter: 2.05,
        Profile: [("encode", 1201.2345), ("topk", 98.765), ("of_which_adam_renorm_all_rows", 310.5)])), Json.BenchOutput));

    [Fact]
    public void BenchCrosscoder_FixedReport_MatchesSnapshot() => Snapshot.Match("bench-crosscoder.json", CliJson.Serialize(CrosscoderBenchOutput.From(
        new CrosscoderThroughputReport(new CrosscoderThroughputShape(2, 768, 16384, 32, 1024), Threads: 2, DeadFraction: 0.25,
            FusedStepMs: 512.25, FusedDenseEncoderStepMs: 700.5, AutogradStepMs: 5120, EncoderGemmMs: 320.125,
            LoadAverageBefore: 1.5, LoadAverageAfter: 1.75, Profile: null)), Json.CrosscoderBenchOutput));

    [Fact]
    public void Eval_FixedMetrics_MatchesSnapshot() => Snapshot.Match("eval.json", CliJson.Serialize(
        EvalOutput.From("/runs/synthetic", "topk", 16, 32, Eval, recoveredFraction: 0.9375), Json.EvalOutput));

    [Fact]
    public void Lora_FixedResult_MatchesSnapshot() => Snapshot.Match("lora.json", CliJson.Serialize(
        LoraOutput.From("/hosts/stories", "/runs/sae", "resid_post.2", new LoraConfig { Rank = 8, Layers = [3] }, trainSequences: 3000, heldOutSequences: 200,
            before: new SplicedEvaluation(0.75, 0.8125, double.NaN, double.NaN, 0.0625, 0.75, 0.6875, double.NaN, double.NaN, 17931),
            after: new SplicedEvaluation(0.75, 0.78125, double.NaN, double.NaN, 0.03125, 0.75, 0.71875, double.NaN, double.NaN, 17931),
            run: new LoraTrainResult(400, 0, 0.0625, 0.03125, 640000, 480.5, []), "/runs/lora/adapters", "/runs/lora/merged-spliced.onnx", onnxCeSplicedAfter: 0.78125, seconds: 575.25),
        Json.LoraOutput));

    [Fact]
    public void AnalyzeDarkMatter_FixedResult_MatchesSnapshot() => Snapshot.Match("analyze-dark-matter.json", CliJson.Serialize(
        DarkMatterOutput.From("/runs/sae", "/data/store#resid_post.1", new DarkMatterResult(
            FitRows: 8192, ScoreRows: 8192, LinearErrorR2: 0.5078125, NormR2: 0.921875, NonlinearFraction: 0.4375, Fvu: 0.125, FvuWithLinear: 0.0546875)),
        Json.DarkMatterOutput));

    [Fact]
    public void AnalyzeGeometry_FixedResult_MatchesSnapshot()
    {
        var galaxy = new GalaxyResult(Points: 4096, Dimensions: 128, Eigenvalues: [4, 2, 1, 0.5], FirstRank: 6, LastRank: 64, PowerLawAlpha: 0.625,
            AlphaLow: 0.5, AlphaHigh: 0.75, LogIntercept: 1.5, IsotropicAlpha: 0.0625, ClusteringEntropy: 2.25, IsotropicClusteringEntropy: 0.125, EntropyDimensions: 100);
        var lobes = new LobeResult(Blocks: 256, Latents: [3, 1, 2], PhiClusters: [0, 1, 1], GeometricClusters: [0, 1, 0], LobesAmi: 0.25, LobesNullAmi: -0.0078125,
            JaccardAmi: 0.1875, JaccardNullAmi: 0.00390625, PhiAffinity: new double[3, 3]);
        var crystals = new CrystalResult(Pairs: 80, Relations: ["plural", "past", "female"], LdaDimensions: 2, Silhouette: 0.75, SilhouetteNull: -0.078125,
            RawSilhouette: 0.21875, RawSilhouetteNull: -0.0390625, ParallelogramQuality: 0.234375, ParallelogramNull: 0.328125);
        Snapshot.Match("analyze-geometry.json", CliJson.Serialize(GeometryOutput.From("/runs/sae", 0.95, galaxy, "/data/store#resid_post.2", 65536, lobes,
            "/cache/saesharp/hosts/stories-v1-seed0", "resid_post.1", crystals, ["/runs/geometry/geometry-spectrum.png"]), Json.GeometryOutput));
    }

    [Fact]
    public void AnalyzeGeometry_DecoderOnly_OtherScalesNull() => Snapshot.Match("analyze-geometry-decoder-only.json", CliJson.Serialize(
        GeometryOutput.From("/runs/sae", 0.95, new GalaxyResult(64, 16, [1, 0.5], 2, 8, 0.5, 0.25, 0.75, 0.125, 0.03125, 1.5, -0.25, 16),
            null, null, null, null, null, null, []), Json.GeometryOutput));

    [Fact]
    public void AnalyzeProbe_FixedResult_MatchesSnapshot() => Snapshot.Match("analyze-probe.json", CliJson.Serialize(
        ProbeOutput.From("/runs/sae", "/data/store", "resid_post.1", 4096,
        [
            new LabelProbeResult("is_plural", Positives: 512, TrainRows: 820, TestRows: 820, BaselineAuroc: 0.984375, BaselineInverseRegularization: 1,
                [new SparseProbeScore(1, 0.875, 10, [17]), new SparseProbeScore(2, 0.9375, 0.1, [17, 3])]),
        ]), Json.ProbeOutput));

    [Fact]
    public void AnalyzeHelix_FixedResult_MatchesSnapshot()
    {
        double[] periods = [113.0 / 5, 113.0 / 9];
        var model = new HelixModel(periods, includeLinear: true, inputDim: 1, [0.5, 0.25, 1, 0, 0, 1]);
        HelixFitResult Fit(double r2) => new(FitRows: 10170, ScoreRows: 2599, FitNumbers: 90, ScoreNumbers: 23, periods, BasisSize: 6, BasisRank: 6,
            R2Helix: r2, R2WithoutLinear: r2 - 0.00390625, R2LinearOnly: -0.0625, PcaComponents: 5, R2PcaSameParams: 0.875,
            R2RandomPeriods: -0.125, RandomPeriodR2s: [-0.25, 0], model, model);
        var helix = new ModAddHelixResult("resid_pre.0", [0, 1], [5, 9], periods, [Fit(0.84375), Fit(0.8125)], TestPairs: 6385,
            CleanAccuracy: 1, PatchedAccuracy: 0.99951171875, PatchedAccuracyWithoutLinear: 0.9990234375, MeanAblatedAccuracy: 0.0087890625);
        var crossEntropy = new ModAddGeometryResult(ModAddLoss.CrossEntropy, [new EmbeddingCircle(5, 0.125, 0.96875, 0.9375), new EmbeddingCircle(9, 0.25, 0.984375, 0.875)],
            MeanCircularity: 0.9791666666666666, KeyFrequencyNormFraction: 0.90625, StepsToMemorize: 150, StepsToGeneralize: 590, TestAccuracy: 1);
        var harmonic = crossEntropy with { Loss = ModAddLoss.Harmonic, StepsToGeneralize = null };
        Snapshot.Match("analyze-helix.json", CliJson.Serialize(
            HelixOutput.From(helix, crossEntropy, harmonic, seed: 0, "/cache/saesharp/hosts/modadd-p113-seed0"), Json.HelixOutput));
    }

    [Fact]
    public void Train_FixedMetrics_MatchesSnapshot() => Snapshot.Match("train.json", CliJson.Serialize(
        TrainOutput.From(Metrics(0.0625), Eval, recoveredFraction: null, activationScale: 1.25, elapsedSeconds: 63.456, outDirectory: "/runs/synthetic"),
        Json.TrainOutput));

    [Fact]
    public void CrosscoderTrain_FixedMetrics_MatchesSnapshot() => Snapshot.Match("crosscoder-train.json", CliJson.Serialize(
        CrosscoderTrainOutput.From(Metrics(0.05, 0.075), [1.5, 2.25], elapsedSeconds: 3.14159, outDirectory: null), Json.CrosscoderTrainOutput));

    [Fact]
    public void Hooks_FixedGraph_MatchesSnapshot() => Snapshot.Match("hooks.json", CliJson.Serialize(new HooksOutput(
        "/models/tiny-gptneo.onnx", VocabSize: null, Layers: 2, ["input_ids", "attention_mask"],
        [
            HookOutput.From(new HookPoint("resid_pre.0", "/transformer/Add_output_0", 0, "resid_pre"), 48),
            HookOutput.From(new HookPoint("resid_post.1", "/transformer/h.1/Add_1_output_0", 1, "resid_post"), 48),
        ]), Json.HooksOutput));

    [Fact]
    public void StoreInspect_FixedStore_MatchesSnapshot() => Snapshot.Match("store-inspect.json", CliJson.Serialize(new StoreInspectOutput(
        "/data/store", Rows: 27, D: 48, StoreInspectOutput.DTypeName(StoreDType.F32), Bytes: 5184, Shards: 1, RowsPerShard: 4096, ContextLength: 9,
        Complete: true, Model: "tiny-gptneo.onnx",
        [
            StoreHookOutput.From(new StoreHook("resid_post.0", "/transformer/h.0/Add_1_output_0", 48) { Aliases = ["resid_pre.1"] }, new HookStatistics(6.928203230275509, 0, 0)),
            StoreHookOutput.From(new StoreHook("resid_post.1", "/transformer/h.1/Add_1_output_0", 48), new HookStatistics(7.5, 96, 2)),
        ]), Json.StoreInspectOutput));

    [Fact]
    public void Tokenize_FixedIds_MatchesSnapshot() =>
        Snapshot.Match("tokenize.json", CliJson.SerializeCompact(new[] { 15496, 11, 995, 0, 50256 }, Json.Int32Array));

    [Fact]
    public void Harvest_FixedResult_MatchesSnapshot() => Snapshot.Match("harvest.json", CliJson.Serialize(HarvestOutput.From(
        new HarvestResult("/data/store", Rows: 90, ["resid_post.0", "resid_post.1"], Shards: 3, Resumed: true, Seconds: 1.23456, TokensThisRun: 60)),
        Json.HarvestOutput));

    [Fact]
    public void Harvest_NoMeasurableTime_WritesNullRate()
    {
        var json = CliJson.Serialize(HarvestOutput.From(new HarvestResult("/data/store", 27, ["resid_post.0"], 1, false, 0, 27)), Json.HarvestOutput);
        Assert.Contains("\"tokens_per_second\": null", json);
    }

    [Fact]
    public void HostTrainModAdd_FixedResult_MatchesSnapshot() => Snapshot.Match("host-train-modadd.json", CliJson.Serialize(
        HostTrainOutput.From(Host(stepsToGeneralize: null), "/cache/saesharp/hosts/modadd-p113-seed0"), Json.HostTrainOutput));

    [Fact]
    public void HostTrainStories_FixedSummary_MatchesSnapshot() => Snapshot.Match("host-train-stories.json", CliJson.Serialize(
        StoryHostOutput.From(new StoryHostSummary(1, new StoryHostOptions(), VocabularySize: 415, Parameters: 877_696,
            ValLoss: 0.8125, OnnxValLoss: 0.8125000123, HeldOutTokens: 17295, ConsistencyAccuracy: 0.9375,
            new Dictionary<string, double> { ["phrase"] = 1, ["pronoun"] = 0.9375, ["speaker"] = 0.875 },
            TrainTokens: 1_446_000, TrainSeconds: 500.25, TrainCpuSeconds: 990.5, TokensPerSecond: 2890.6543, TotalSeconds: 560.75, Threads: 2),
            fromCache: false, "/cache/saesharp/hosts/stories-v1-seed0"), Json.StoryHostOutput));

    [Fact]
    public void HostExport_FixedFile_MatchesSnapshot() => Snapshot.Match("host-export.json", CliJson.Serialize(
        new HostExportOutput("/runs/host.onnx", Bytes: 1_234_567, Opset: 17, Layers: 1, Input: "input_ids", Output: "logits"), Json.HostExportOutput));

    [Fact]
    public void Demo_FixedResult_MatchesSnapshot()
    {
        var host = Host(stepsToGeneralize: 590);
        LatentFrequency[] live = [new(3, 0.25, 14, 0.75, true, true), new(7, 0.125, 35, 0.625, true, true), new(9, 0.0625, 2, 0.375, false, false)];
        var result = new SaeDemoResult(
            new SaeDemoOptions { OutputDirectory = "/runs/demo", CacheFolder = "/cache/saesharp/hosts", Quick = true }, host,
            "/cache/saesharp/hosts/modadd-p113-seed0", "/runs/demo/host.onnx", "/runs/demo/store", StoreRows: 38307, OnnxVersusTorchMaxAbsDiff: 2.384185791015625e-06,
            "/runs/demo/sae", [Metrics(0.125), Metrics(0.0625)], Eval,
            new GroundTruthSummary(113, [14, 35, 41, 52], live, [14, 35], Coverage: 0.5, Purity: 0.6666666666666666, DominanceThreshold: 0.5) { BaselinePurity = 0.25 },
            new SplicedLoss(LossClean: 0.0125, LossSae: 0.25, LossZero: 4.75, AccuracyClean: 1, AccuracySae: 0.96875, AccuracyZero: 0.0078125),
            L0PerInput: [7, 8, 8.4], LatentFiringFractions: [0.25, 0, 0.125, 0.0625], TopLatentGrids: [],
            StageSeconds: new Dictionary<string, double> { ["host"] = 0.5, ["export"] = 1.25, ["harvest"] = 3.5, ["sae"] = 40.75, ["analysis"] = 2 });
        Snapshot.Match("demo.json", CliJson.Serialize(DemoSummary.From(result, totalSeconds: 48.04), Json.DemoSummary));
    }

    [Fact]
    public void StoryDemo_FixedResult_MatchesSnapshot()
    {
        var hostOptions = new StoryHostOptions { Seed = 0 };
        var hostSummary = new StoryHostSummary(StoryHost.RecipeVersion, hostOptions, VocabularySize: 4, Parameters: 812_416, ValLoss: 0.6875, OnnxValLoss: 0.6876,
            HeldOutTokens: 24_250, ConsistencyAccuracy: 0.96875, new Dictionary<string, double> { ["phrase"] = 1, ["pronoun"] = 0.9375, ["speaker"] = 0.96875 },
            TrainTokens: 3_600_000, TrainSeconds: 512.25, TrainCpuSeconds: 1020.5, TokensPerSecond: 7027.8, TotalSeconds: 530.5, Threads: 2);
        using var model = new HostTransformer(hostOptions.Host(4));
        var host = new StoryHostResult(model, CompactVocabulary.Create([13, 198, 262, 50256], 50257, 50256), hostSummary, "/cache/saesharp/hosts/stories-v1-seed0", FromCache: true);
        var options = new LabelScoringOptions();
        var scores = new LabelScores(RowCount: 181_000,
            [new LabelScore(0, "name", 9000, 17, 0, 0.96875, 0.9375, 1, 0.9990234375), new LabelScore(1, "animal", 4000, 3, 0, 0.75, 0.625, 0.9375, 0.98046875),
             new LabelScore(26, "number", 4, -1, 0, 0, 0, 0, double.NaN)],
            [new LatentMatch(3, 0.03125, 4.5, 1, 0.75), new LatentMatch(17, 0.046875, 6.25, 0, 0.96875)], options);
        var result = new StoryDemoResult(
            new StoryDemoOptions { OutputDirectory = "/runs/stories", CacheFolder = "/cache/saesharp/hosts" }, host, "/runs/stories/stories.json", "/runs/stories/store",
            StoreRows: 181_000, HarvestTokensPerSecond: 2048.25, "/runs/stories/sae", [Metrics(0.125), Metrics(0.0625)], Eval, scores,
            new SplicedLoss(LossClean: 0.6875, LossSae: 0.8125, LossZero: 5.25, AccuracyClean: 0.75, AccuracySae: 0.71875, AccuracyZero: 0.015625), SplicedTokens: 24_250,
            "/runs/stories/dashboard.html", [17, 3],
            new Dictionary<string, double> { ["host"] = 1.5, ["harvest"] = 60.25, ["sae"] = 120.5, ["scoring"] = 10, ["splice"] = 5.5, ["dashboard"] = 3 });
        Snapshot.Match("demo-stories.json", CliJson.Serialize(StoryDemoSummary.From(result, totalSeconds: 200.84), Json.StoryDemoSummary));
    }

    [Fact]
    public void CrosscoderDemo_FixedResult_MatchesSnapshot()
    {
        DemoModel[] models =
        [
            new("A", "seed 0", [14, 35, 41], [14, 35], 1, FromCache: true),
            new("B", "seed 1", [4, 32, 43], [4, 43], 0.99951171875, FromCache: false),
        ];
        var result = new CrosscoderDemoResult(new CrosscoderDemoOptions { CacheFolder = "/cache" }, models, StudentAgreement: double.NaN,
            [Score("l1", CrosscoderSparsity.L1, accuracy: 0.9375), Score("batchtopk", CrosscoderSparsity.BatchTopK, accuracy: double.NaN)], TotalSeconds: 123.456);
        var summary = CrosscoderDemoSummary.From(result) with { Out = "/runs/xc" };
        Snapshot.Match("crosscoder-demo.json", CliJson.Serialize(summary, Json.CrosscoderDemoSummary));
    }

    [Fact]
    public void CrosscoderDemo_UnknownCrosscoderName_Throws()
    {
        var result = new CrosscoderDemoResult(new CrosscoderDemoOptions { CacheFolder = "/cache" }, [], double.NaN,
            [Score("topk", CrosscoderSparsity.BatchTopK, 1)], 1);
        Assert.Throws<InvalidOperationException>(() => CrosscoderDemoSummary.From(result));
    }

    [Fact]
    public void StoreMerge_FixedResult_MatchesSnapshot() => Snapshot.Match("store-merge.json", CliJson.Serialize(
        StoreMergeOutput.From(new StoreMergeResult("/data/stores/l3/merged", Rows: 100_000_000, Parts: 8, Shards: 3815, Labels: false)), Json.StoreMergeOutput));

    [Fact]
    public void Sweep_FixedGrid_MatchesSnapshot()
    {
        var dir = CliProcess.NewTempDir();
        var file = Path.Combine(dir, "grid.json");
        File.WriteAllText(file, """{ "out": "/runs/sweep", "base": { "store": "/data/store", "hook": "resid_post.3", "steps": 2000, "no-normalize": true }, "grid": { "latents": [4096, 8192], "k": [32, 64] } }""");
        Snapshot.Match("sweep.json", CliJson.Serialize(SweepOutput.From(SweepGrid.Read(file)), Json.SweepOutput).Replace(file, "/runs/grid.json", StringComparison.Ordinal));
    }

    [Fact]
    public void SweepSummary_FixedRuns_MatchesJsonAndMarkdownSnapshots()
    {
        SweepRunRecord Run(int index, string latents, string k, double fvu) => new(index, 4, "/runs/grid.json", ["latents", "k"],
            new Dictionary<string, string> { ["store"] = "/data/store", ["hook"] = "resid_post.3", ["latents"] = latents, ["k"] = k },
            TrainOutput.From(Metrics(fvu), Eval with { Fvu = fvu }, recoveredFraction: null, activationScale: 1.25, elapsedSeconds: 63.456, outDirectory: $"/runs/sweep/run-000{index}"));
        var summary = SweepSummaryOutput.From("/runs/sweep", [Run(3, "8192", "64", 0.046875), Run(0, "4096", "32", 0.125), Run(1, "4096", "64", 0.09375)]);
        Assert.Equal([2], summary.Missing);
        Snapshot.Match("sweep-summary.json", CliJson.Serialize(summary, Json.SweepSummaryOutput));
        Snapshot.Match("sweep-summary.md", summary.Markdown());
    }

    public static TheoryData<string> HelpCommands() =>
    [
        "", "demo", "train", "eval", "host", "host train-modadd", "host train-stories", "host export", "hooks", "harvest", "store", "store inspect", "store export", "store merge", "sweep", "sweep summary",
        "tokenize", "bench", "crosscoder", "crosscoder demo", "crosscoder train", "analyze", "analyze dark-matter", "analyze probe", "analyze helix", "analyze geometry",
    ];

    /// <summary><c>--help</c> through the real parser, in-process, at a fixed width so the terminal does not change the text.</summary>
    [Theory]
    [MemberData(nameof(HelpCommands))]
    public void Help_Command_MatchesSnapshot(string command)
    {
        var root = CommandCatalog.Root();
        foreach (var help in root.Options.OfType<HelpOption>())
            ((HelpAction)help.Action!).MaxWidth = 120;
        using var output = new StringWriter();
        string[] args = [.. command.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"];
        int code = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = output });
        Assert.Equal(0, code);
        var name = command.Length == 0 ? "help.txt" : $"help-{command.Replace(' ', '-')}.txt";
        Snapshot.Match(name, output.ToString().Replace(RootCommand.ExecutableName, "saesharp", StringComparison.Ordinal));
    }

    private static ModAddResult Host(int? stepsToGeneralize) => new(
        Model: null!, new ModAddConfig(), Log: [], Steps: 1830, StepsToMemorize: 150, StepsToGeneralize: stepsToGeneralize,
        TrainAccuracy: 1, TestAccuracy: 0.99951171875,
        new FourierKeyFrequencies(113, [14, 35, 41, 52], NormFractions: [0.25, 0.25, 0.25, 0.1875], ConstantFraction: 0.0078125, Explained: 0.9375),
        TrainingTime: TimeSpan.FromSeconds(230.04), TrainingCpuTime: TimeSpan.FromSeconds(228.96), FromCache: true);

    [Fact]
    public void StoryCrosscoderDemo_FixedResult_MatchesSnapshot()
    {
        StoryCrosscoderScore Story(string name, CrosscoderSparsity sparsity, double recall)
        {
            var diff = Score(name, sparsity, 1).Diff;
            StoryLabelMatch[] labels =
            [
                new("name", false, 9000, 0, 0.96875, LatentClass.Shared, 0.5, false),
                new("reflection", true, 1200, 2, 0.875, LatentClass.BOnly, 0.9375, false),
                new("reflection_pause", true, 600, 1, 0.75, LatentClass.AOnly, 0.0625, true),
            ];
            return new StoryCrosscoderScore(name, sparsity, recall, 1, LatentScalingFlags: 1, Live: 3, Shared: 1, BaseOnly: 1, DistilledOnly: 1,
                new[,] { { 1, 0, 0, 0 }, { 0, 1, 1, 0 } }, labels, [0.0625, 0.125], 16, diff, 30.25);
        }
        var pair = new StoryPairSummary(StoryPair.RecipeVersion, new StoryPairOptions(), VocabularySize: 425, AddedTokens: [17573, 892, 13300], TeacherLoss: 0.75,
            GeneratorReflectionRate: 0.125, TeacherReflectionRate: 0.1171875, SampleTokens: 61_440, DistilledLoss: 0.8125, TotalSeconds: 400.25);
        var result = new StoryCrosscoderDemoResult(
            new StoryCrosscoderDemoOptions { OutputDirectory = "/runs/xc-stories", CacheFolder = "/cache/saesharp/hosts" }, pair,
            "/cache/saesharp/hosts/stories-v1-seed0-pair-v1-0123456789ab", "/cache/saesharp/hosts/stories-v1-seed0",
            ["/runs/xc-stories/store-base", "/runs/xc-stories/store-distilled"], Rows: 55_000,
            [Story("l1", CrosscoderSparsity.L1, 0.5), Story("batchtopk", CrosscoderSparsity.BatchTopK, double.NaN)],
            new StoryPermutedDiagnostic(Live: 400, DistilledOnly: 3, DistilledOnlyWithLabelMatch: 0, MatchedLabels: []),
            new StorySteering(2, "reflection", LatentClass.BOnly, Unit: 12.5, UnsteeredRate: 0.125,
                [new StorySteeringRate(-1, 0.0625, 40, 640), new StorySteeringRate(0, 0.125, 80, 640), new StorySteeringRate(0.5, 0.25, 170, 680)]),
            "/runs/xc-stories/dashboard.html",
            new Dictionary<string, double> { ["models"] = 1.5, ["harvest"] = 20.25, ["l1"] = 60, ["batchtopk"] = 50.5, ["permuted"] = 40, ["steering"] = 120, ["dashboard"] = 5 });
        Snapshot.Match("crosscoder-demo-stories.json", CliJson.Serialize(StoryCrosscoderDemoSummary.From(result, totalSeconds: 297.26), Json.StoryCrosscoderDemoSummary));
    }

    private static DemoScore Score(string name, CrosscoderSparsity sparsity, double accuracy)
    {
        LatentDiff Latent(int index, LatentClass cls, bool onlyLooksExclusive) =>
            new(index, 1, 0.5, 0.3333333333333333, 0.875, cls, 0.25, 1, 0.5, 0.125, 0.25, onlyLooksExclusive, [], []);
        var diff = new ModelDiffResult(new ModelDiffOptions(), Rows: 12769,
            [Latent(0, LatentClass.Shared, false), Latent(1, LatentClass.AOnly, true), Latent(2, LatentClass.BOnly, false), Latent(3, LatentClass.Dead, false)],
            HistogramCounts: [1, 0, 1, 0, 1]);
        return new DemoScore(name, "A", "B", sparsity, accuracy, new[,] { { 5, 1, 0 }, { 0, 3, 1 }, { 1, 0, 4 } }, Scored: 15,
            EmbeddingTruthAccuracy: 0.8, EmbeddingTruthScored: 10, Dominated: 20, Live: 30, Fvu: [0.0625, 0.125], L0: 7.5, diff,
            DominantFrequency: [], DominantShare: [], Frequencies: [], Steering: [], TrainingSeconds: 41.26);
    }
}
