using System.CommandLine;
using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.V1;

namespace Pvmd.Cli.Commands;

/// <summary>pvmctl platform [--json]: the daemon's host.</summary>
internal static class PlatformCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var json = new Option<bool>("--json")
        {
            Description = "One JSON object: {arch, kernelRelease, pageSize, cpuModel, hwcap, hwcap2 (\"0x...\"), cpuFeatures, yamaPtraceScope (-1: no Yama), hasCapSysPtrace, daemonVersion, emulation, hostname}.",
        };
        var command = new Command("platform", "Describe the daemon's host: architecture, kernel, page size, CPU, ptrace restrictions.") { json };
        CommandRunner.SetBody(command, globals, async context =>
        {
            var platform = await context.Connect().GetPlatformAsync(context.CancellationToken).ConfigureAwait(false);
            if (context.GetValue(json))
            {
                context.Out.WriteLine(JsonOutput.ToLine(w => JsonOutput.WritePlatform(w, platform)));
            }
            else
            {
                WriteText(context.Out, platform);
            }

            return ExitCode.Ok;
        });
        return command;
    }

    private static void WriteText(TextWriter w, Platform p)
    {
        var yama = p.YamaPtraceScope switch
        {
            -1 => "absent",
            0 => "0 (classic: any process of the same user)",
            1 => "1 (restricted: descendants only, or CAP_SYS_PTRACE)",
            2 => "2 (admin-only: CAP_SYS_PTRACE)",
            3 => "3 (no attach)",
            var other => other.ToString(CultureInfo.InvariantCulture),
        };
        (string Name, string Value)[] rows =
        [
            ("arch", p.Arch),
            ("kernel", p.KernelRelease),
            ("page size", p.PageSize.ToString(CultureInfo.InvariantCulture)),
            ("cpu", p.CpuModel),
            ("hwcap", Names.Hex(p.Hwcap)),
            ("hwcap2", Names.Hex(p.Hwcap2)),
            ("cpu features", p.CpuFeatures),
            ("emulation", p.Emulation.Length > 0 ? p.Emulation : "none known"),
            ("yama ptrace_scope", yama),
            ("CAP_SYS_PTRACE", p.HasCapSysPtrace ? "yes" : "no"),
            ("hostname", p.Hostname),
            ("daemon version", p.DaemonVersion),
        ];
        foreach (var (name, value) in rows)
        {
            w.WriteLine($"{name + ":",-19}{value}");
        }
    }
}
