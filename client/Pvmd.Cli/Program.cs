using System.CommandLine;
using Pvmd.Cli;
using Pvmd.Cli.Commands;

var globals = new GlobalOptions();
var root = new RootCommand("pvmctl: read and write other processes' memory through the pvmd daemon, and learn what each transfer really changed.");
globals.AddTo(root);
root.Subcommands.Add(PlatformCommand.Create(globals));
root.Subcommands.Add(PsCommand.Create(globals));
root.Subcommands.Add(MapsCommand.Create(globals));
root.Subcommands.Add(ReadCommand.Create(globals));
root.Subcommands.Add(WriteCommand.Create(globals));
root.Subcommands.Add(ProbeCommand.Create(globals));
root.Subcommands.Add(CompareCommand.Create(globals));
return await CommandRunner.InvokeAsync(root, args);
