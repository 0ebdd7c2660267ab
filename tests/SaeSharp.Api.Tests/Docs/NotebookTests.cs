using System.Text.Json;
using SaeSharp.Testing;

namespace SaeSharp.Api.Tests.Docs;

/// <summary>
/// The sample notebooks are committed with the outputs of a real run (scripts/notebooks-test.sh --update runs them,
/// scripts/test.sh runs them again). Without a kernel here, this checks what a reader opening the files relies on:
/// Polyglot Notebooks C# format, every code cell executed with no error, a figure shown inline, and the package lines
/// in the portable form the runner substitutes (never a clone's absolute path or one commit's version).
/// </summary>
public sealed class NotebookTests
{
    private static readonly string Folder = Path.Combine(RepositoryPaths.Root, "samples", "notebooks");

    [Fact]
    public void SampleNotebooks_AreExecutedCSharpNotebooks()
    {
        var notebooks = Directory.GetFiles(Folder, "*.ipynb");
        Assert.True(notebooks.Length >= 2, $"expected the sample notebooks in {Folder}");
        foreach (var notebook in notebooks)
            Assert.Empty(Problems(File.ReadAllText(notebook)).Select(p => $"{Path.GetFileName(notebook)}: {p}").ToList());
    }

    [Fact]
    public void Problems_FailedCellAndAbsolutePath_AreFound()
    {
        // The checker must see what it is meant to refuse: a cell that ended in an error, a cell never run, and the
        // runner's absolute package folder left in place.
        const string notebook = """
            {"nbformat": 4, "metadata": {"kernelspec": {"name": ".net-csharp"}}, "cells": [
              {"cell_type": "code", "metadata": {"dotnet_interactive": {"language": "csharp"}}, "source": ["#i \"nuget: /home/me/repo/artifacts/packages\"\n", "#r \"nuget: SaeSharp, 0.1.0-alpha.0.84\""],
               "outputs": [{"output_type": "display_data", "data": {"text/html": ["<img src=\"data:image/png;base64,AAAA\" />"]}}]},
              {"cell_type": "code", "metadata": {"dotnet_interactive": {"language": "csharp"}}, "source": ["throw new Exception();"],
               "outputs": [{"output_type": "error", "ename": "Error", "evalue": "boom"}]},
              {"cell_type": "code", "metadata": {"dotnet_interactive": {"language": "csharp"}}, "source": ["1"], "outputs": []}
            ]}
            """;
        var problems = Problems(notebook);
        Assert.Contains(problems, p => p.Contains("../../artifacts/packages", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("*-*", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("cell 2 ended in an error: boom", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("cell 3 has no output", StringComparison.Ordinal));
    }

    private static List<string> Problems(string json)
    {
        var problems = new List<string>();
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.GetProperty("nbformat").GetInt32() != 4) problems.Add("nbformat is not 4");
        if (root.GetProperty("metadata").GetProperty("kernelspec").GetProperty("name").GetString() != ".net-csharp")
            problems.Add("kernelspec is not .net-csharp");
        string allSource = "";
        bool image = false;
        int index = 0;
        foreach (var cell in root.GetProperty("cells").EnumerateArray())
        {
            index++;
            if (cell.GetProperty("cell_type").GetString() != "code") continue;
            var language = cell.GetProperty("metadata").TryGetProperty("dotnet_interactive", out var di) ? di.GetProperty("language").GetString() : null;
            if (language != "csharp") problems.Add($"cell {index} is not a C# cell");
            allSource += string.Concat(cell.GetProperty("source").EnumerateArray().Select(line => line.GetString()));
            var outputs = cell.GetProperty("outputs");
            if (outputs.GetArrayLength() == 0) problems.Add($"cell {index} has no output (not executed)");
            foreach (var output in outputs.EnumerateArray())
            {
                if (output.GetProperty("output_type").GetString() == "error")
                    problems.Add($"cell {index} ended in an error: {output.GetProperty("evalue").GetString()}");
                if (output.TryGetProperty("data", out var data) && data.ToString().Contains("data:image/png;base64,", StringComparison.Ordinal))
                    image = true;
            }
        }
        if (!allSource.Contains("#i \"nuget: ../../artifacts/packages\"", StringComparison.Ordinal))
            problems.Add("no #i \"nuget: ../../artifacts/packages\" line (the runner puts the absolute path in its copy only)");
        if (!allSource.Contains("#r \"nuget: SaeSharp, *-*\"", StringComparison.Ordinal))
            problems.Add("no #r \"nuget: SaeSharp, *-*\" line (the runner puts the packed version in its copy only)");
        if (!image) problems.Add("no inline PNG figure");
        return problems;
    }
}
