using System.CommandLine;
using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.Client;

namespace Pvmd.Cli.Commands;

/// <summary>pvmctl ps [--name GLOB] [--uid N] [--cmdline TEXT] [--json]: the processes the daemon sees.</summary>
internal static class PsCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var name = new Option<string?>("--name", "-n") { Description = "Shell-style glob on the command name (comm), e.g. 'nginx*'.", HelpName = "GLOB" };
        var uid = new Option<uint?>("--uid", "-u") { Description = "Only processes of this user id.", HelpName = "UID" };
        var cmdline = new Option<string?>("--cmdline", "-c") { Description = "Only processes whose command line contains this text.", HelpName = "TEXT" };
        var json = new Option<bool>("--json")
        {
            Description = "One JSON object: {processes: [{pid, ppid, uid, name, cmdline, startTime, executable}]}.",
        };
        var command = new Command("ps", "List the processes visible to the daemon (its PID namespace). START is the start time to pass as --start-time.")
        {
            name, uid, cmdline, json,
        };
        CommandRunner.SetBody(command, globals, async context =>
        {
            var filter = new ProcessFilter(context.GetValue(name), context.ParseResult.GetValue(uid), context.GetValue(cmdline));
            var processes = await context.Connect().ListProcessesAsync(filter, context.CancellationToken).ConfigureAwait(false);
            if (context.GetValue(json))
            {
                context.Out.WriteLine(JsonOutput.ToLine(w =>
                {
                    w.WriteStartObject();
                    w.WriteStartArray("processes");
                    foreach (var p in processes)
                    {
                        JsonOutput.WriteProcess(w, p);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }));
                return ExitCode.Ok;
            }

            var table = new TextTable("PID", "PPID", "UID", "START", "NAME", "COMMAND").AlignRight(0, 1, 2, 3);
            foreach (var p in processes)
            {
                table.Add(
                    p.Pid.ToString(CultureInfo.InvariantCulture),
                    p.Ppid.ToString(CultureInfo.InvariantCulture),
                    p.Uid.ToString(CultureInfo.InvariantCulture),
                    p.StartTime.ToString(CultureInfo.InvariantCulture),
                    p.Name,
                    p.Cmdline.Length > 0 ? p.Cmdline : $"[{p.Name}]");
            }

            table.WriteTo(context.Out);
            return ExitCode.Ok;
        });
        return command;
    }
}
