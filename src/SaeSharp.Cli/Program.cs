using System.CommandLine;
using SaeSharp.Cli.Commands;

var root = new RootCommand("saesharp: sparse autoencoders and crosscoders on language-model activations.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
