using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace SaeSharp.Api.Tests.Docs;

/// <summary>
/// Compiles a documentation block as the <c>Program.cs</c> of a <c>dotnet new console</c> project would be
/// compiled: top-level statements, nullable on, the console template's implicit usings, and as references every
/// assembly this test process was given (the .NET runtime, SaeSharp's packages and their dependencies).
/// </summary>
internal static class ProgramCompiler
{
    // What `dotnet new console` (ImplicitUsings=enable) adds to every file.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly Lazy<MetadataReference[]> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray());

    /// <summary>Compiles <paramref name="block"/>; on errors or warnings returns null and the diagnostics.</summary>
    public static (byte[]? Image, IReadOnlyList<string> Diagnostics) Compile(CodeBlock block)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "DocBlock_" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(ImplicitUsings, options, "Usings.g.cs"),
             CSharpSyntaxTree.ParseText(block.Code, options, block.ToString())],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        var problems = emitted.Diagnostics
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .Select(d => d.ToString())
            .ToList();
        return (emitted.Success && problems.Count == 0 ? image.ToArray() : null, problems);
    }

    /// <summary>Loads a compiled block and runs its entry point to completion with <paramref name="args"/>.</summary>
    public static void Run(byte[] image, params string[] args)
    {
        var entry = Assembly.Load(image).EntryPoint ?? throw new InvalidOperationException("no entry point");
        try
        {
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [args]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }
}
