using SaeSharp.Cli.Commands;

return await CommandCatalog.Root().Parse(args).InvokeAsync();
