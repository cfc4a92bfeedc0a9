using System.CommandLine;
using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.Cli.Parsing;
using Pvmd.Client;

namespace Pvmd.Cli.Commands;

/// <summary>pvmctl maps --pid N [--start-time T] [--json]: the target's memory map.</summary>
internal static class MapsCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var pid = OptionFactory.Pid(required: true);
        var startTime = OptionFactory.StartTime();
        var json = new Option<bool>("--json")
        {
            Description = "One JSON object: {pid, regions: [{start, end (\"0x...\"), size, permissions, offset (\"0x...\"), device, inode, path}]}.",
        };
        var command = new Command("maps", "Show the target's memory map (/proc/PID/maps), with region sizes.") { pid, startTime, json };
        CommandRunner.SetBody(command, globals, async context =>
        {
            var target = new TargetProcess(context.GetValue(pid)!.Value, context.GetValue(startTime));
            var regions = await context.Connect().ListRegionsAsync(target, context.CancellationToken).ConfigureAwait(false);
            if (context.GetValue(json))
            {
                context.Out.WriteLine(JsonOutput.ToLine(w =>
                {
                    w.WriteStartObject();
                    w.WriteNumber("pid", target.Pid);
                    w.WriteStartArray("regions");
                    foreach (var r in regions)
                    {
                        JsonOutput.WriteRegion(w, r);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }));
                return ExitCode.Ok;
            }

            var table = new TextTable("START-END", "PERM", "OFFSET", "DEV", "INODE", "SIZE", "PATH").AlignRight(4, 5);
            foreach (var r in regions)
            {
                table.Add(
                    string.Create(CultureInfo.InvariantCulture, $"{r.Start:x12}-{r.End:x12}"),
                    r.Permissions,
                    r.Offset.ToString("x8", CultureInfo.InvariantCulture),
                    r.Device,
                    r.Inode.ToString(CultureInfo.InvariantCulture),
                    Size(r.End - r.Start),
                    r.Path);
            }

            table.WriteTo(context.Out);
            return ExitCode.Ok;
        });
        return command;
    }

    /// <summary>Bytes as pmap shows them: whole KiB, or bytes below 1 KiB.</summary>
    internal static string Size(ulong bytes) =>
        bytes >= 1024 && bytes % 1024 == 0
            ? (bytes / 1024).ToString(CultureInfo.InvariantCulture) + "K"
            : bytes.ToString(CultureInfo.InvariantCulture);
}
