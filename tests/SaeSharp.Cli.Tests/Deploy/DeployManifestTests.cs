using System.CommandLine;
using System.Text.RegularExpressions;
using SaeSharp.Cli.Commands;
using SaeSharp.Cli.Internals;
using YamlDotNet.RepresentationModel;

namespace SaeSharp.Cli.Tests.Deploy;

/// <summary>
/// The example manifests in deploy/ (Kubernetes Indexed Jobs, Slurm arrays, the Dockerfile) against the tool: their
/// YAML parses, the job sizes agree with the work split, and every saesharp command line in them parses with the CLI's
/// own parser as a scheduler's first and last worker would run it.
/// </summary>
public sealed class DeployManifestTests
{
    private static string Deploy(string relative) => Path.Combine(CliProcess.Root, "deploy", relative);

    private static YamlMappingNode Job(string file)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Deploy(file))) yaml.Load(reader);
        var job = (YamlMappingNode)Assert.Single(yaml.Documents).RootNode;
        Assert.Equal("batch/v1", Scalar(job, "apiVersion"));
        Assert.Equal("Job", Scalar(job, "kind"));
        return job;
    }

    private static YamlNode Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
            node = key.StartsWith('[') ? ((YamlSequenceNode)node).Children[int.Parse(key[1..^1], System.Globalization.CultureInfo.InvariantCulture)] : ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value!;

    /// <summary>The container's shell script and its environment, with the Indexed Job's index set to <paramref name="index"/>.</summary>
    private static (string Script, Dictionary<string, string> Environment) Container(YamlMappingNode job, int index)
    {
        var container = Node(job, "spec", "template", "spec", "containers", "[0]");
        Assert.Equal(["/bin/sh", "-c"], ((YamlSequenceNode)Node(container, "command")).Children.Select(c => ((YamlScalarNode)c).Value));
        var environment = ((YamlSequenceNode)Node(container, "env")).Children.Cast<YamlMappingNode>()
            .ToDictionary(e => Scalar(e, "name"), e => Scalar(e, "value"), StringComparer.Ordinal);
        environment["JOB_COMPLETION_INDEX"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return (Scalar(container, "args", "[0]"), environment);
    }

    /// <summary>Parses a command line with the tool's parser; any error fails the test naming the line.</summary>
    private static ParseResult Parse(string[] args)
    {
        var parsed = CommandCatalog.Root().Parse(args);
        Assert.True(parsed.Errors.Count == 0, $"saesharp {string.Join(' ', args)}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
        return parsed;
    }

    private static string Option(ParseResult parsed, string name) =>
        parsed.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>().Single(o => o.Option.Name == name).Tokens.Single().Value;

    [Fact]
    public void KubernetesHarvest_IndexedJobOfPartsWorkers_CommandLinesParseForFirstAndLastPod()
    {
        var job = Job("kubernetes/harvest.yaml");
        Assert.Equal("Indexed", Scalar(job, "spec", "completionMode"));
        int completions = int.Parse(Scalar(job, "spec", "completions"), System.Globalization.CultureInfo.InvariantCulture);
        foreach (int index in new[] { 0, completions - 1 })
        {
            var (script, environment) = Container(job, index);
            Assert.Equal(completions.ToString(System.Globalization.CultureInfo.InvariantCulture), environment["PARTS"]);
            var harvest = Assert.Single(ShellCommandLines.Saesharp(script, environment));
            Assert.Equal("harvest", harvest[0]);
            var parsed = Parse(harvest);
            var shard = HarvestCommand.ParseShard(Option(parsed, "--shard"));
            Assert.Equal((index, completions), (shard.Index, shard.Count));
            Assert.EndsWith($"/part-{index}", Option(parsed, "--out"), StringComparison.Ordinal);
            Parse([.. harvest, "--resume"]); // what a rescheduled pod runs
        }

        var merge = Job("kubernetes/harvest-merge.yaml");
        var (mergeScript, mergeEnvironment) = Container(merge, 0);
        var line = Assert.Single(ShellCommandLines.Saesharp(mergeScript, mergeEnvironment));
        Assert.Equal(["store", "merge"], line[..2]);
        Parse(line);
        var (harvestScript, harvestEnvironment) = Container(job, 0);
        var partFolder = Path.GetDirectoryName(Option(Parse(ShellCommandLines.Saesharp(harvestScript, harvestEnvironment)[0]), "--out"))!;
        Assert.Equal(partFolder + "/part-*", line[2]); // the merge reads the folders the workers write
    }

    [Fact]
    public void KubernetesSweep_IndexedJobOfGridRuns_CommandLinesParse()
    {
        var job = Job("kubernetes/sweep.yaml");
        Assert.Equal("Indexed", Scalar(job, "spec", "completionMode"));
        int completions = int.Parse(Scalar(job, "spec", "completions"), System.Globalization.CultureInfo.InvariantCulture);
        foreach (int index in new[] { 0, completions - 1 })
        {
            var (script, environment) = Container(job, index);
            var train = Assert.Single(ShellCommandLines.Saesharp(script, environment));
            var parsed = Parse(train);
            Assert.Equal(index.ToString(System.Globalization.CultureInfo.InvariantCulture), Option(parsed, "--index"));
            Assert.Equal("/shared/saesharp/sweeps/l3.grid.json", Option(parsed, "--sweep"));
        }
        AssertGrid(completions);
    }

    [Fact]
    public void SlurmArrays_HarvestMergeAndSweep_SizesAgreeAndCommandLinesParse()
    {
        var harvest = File.ReadAllText(Deploy("slurm/harvest.sbatch"));
        var (first, last) = Array(harvest);
        int parts = last - first + 1;
        Assert.Equal(0, first);
        foreach (int task in new[] { first, last })
        {
            var line = Assert.Single(ShellCommandLines.Saesharp(harvest, Slurm(harvest, task)));
            var parsed = Parse(line);
            var shard = HarvestCommand.ParseShard(Option(parsed, "--shard"));
            Assert.Equal((task, parts), (shard.Index, shard.Count));
        }
        var merge = File.ReadAllText(Deploy("slurm/merge.sbatch"));
        var mergeLine = Assert.Single(ShellCommandLines.Saesharp(merge, Slurm(merge, 0)));
        Assert.Equal(["store", "merge"], mergeLine[..2]);
        Parse(mergeLine);

        var sweep = File.ReadAllText(Deploy("slurm/sweep.sbatch"));
        var (sweepFirst, sweepLast) = Array(sweep);
        foreach (int task in new[] { sweepFirst, sweepLast })
            Assert.Equal(task.ToString(System.Globalization.CultureInfo.InvariantCulture), Option(Parse(Assert.Single(ShellCommandLines.Saesharp(sweep, Slurm(sweep, task)))), "--index"));
        AssertGrid(sweepLast - sweepFirst + 1);
    }

    [Fact]
    public void Dockerfile_BuildsTheToolOnDotnet10Images()
    {
        var lines = File.ReadAllLines(Deploy("Dockerfile")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var from = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build", "FROM mcr.microsoft.com/dotnet/runtime:10.0"], from);
        Assert.Contains("<TargetFramework>net10.0</TargetFramework>", File.ReadAllText(Path.Combine(CliProcess.Root, "Directory.Build.props")), StringComparison.Ordinal);
        var publish = Assert.Single(lines, l => l.Contains("dotnet publish", StringComparison.Ordinal));
        var project = Regex.Match(publish, @"dotnet publish (\S+)").Groups[1].Value;
        Assert.True(File.Exists(Path.Combine(CliProcess.Root, project, "SaeSharp.Cli.csproj")), $"{project} is not the tool's project");
        // The wrapper runs the assembly the publish writes.
        Assert.Contains(lines, l => l.Contains("exec dotnet /app/SaeSharp.Cli.dll", StringComparison.Ordinal));
        Assert.Contains("<AssemblyName>SaeSharp.Cli</AssemblyName>", File.ReadAllText(Path.Combine(CliProcess.Root, project, "SaeSharp.Cli.csproj")), StringComparison.Ordinal);
    }

    /// <summary>The example grid (deploy/l3.grid.json) has as many runs as the jobs that train it, and each run's line parses.</summary>
    private static void AssertGrid(int runs)
    {
        var grid = SweepGrid.Read(Deploy("l3.grid.json"));
        Assert.Equal(runs, grid.Count);
        for (int i = 0; i < grid.Count; i++) Parse(["train", .. grid.Run(i).Arguments()]);
    }

    private static (int First, int Last) Array(string script)
    {
        var match = Regex.Match(script, @"^#SBATCH --array=(\d+)-(\d+)\s*$", RegexOptions.Multiline);
        Assert.True(match.Success, "no #SBATCH --array=FIRST-LAST line");
        return (int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>What Slurm sets for array task <paramref name="task"/> of <paramref name="script"/>.</summary>
    private static Dictionary<string, string> Slurm(string script, int task)
    {
        var cpus = Regex.Match(script, @"^#SBATCH --cpus-per-task=(\d+)", RegexOptions.Multiline);
        return new(StringComparer.Ordinal)
        {
            ["SLURM_ARRAY_TASK_ID"] = task.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SLURM_CPUS_PER_TASK"] = cpus.Success ? cpus.Groups[1].Value : "1",
        };
    }
}
