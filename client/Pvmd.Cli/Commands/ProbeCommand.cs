using System.CommandLine;
using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.Cli.Probing;

namespace Pvmd.Cli.Commands;

/// <summary>pvmctl probe [sweep options] [--json] [--examples N]: the short-copy probe on the
/// daemon's host.</summary>
internal static class ProbeCommand
{
    /// <summary>Cases between progress messages: often enough for a smooth line, rare enough to
    /// cost nothing next to the cases themselves.</summary>
    internal const uint ProgressEvery = 2048;

    private const string Help = """
        Run the short-copy probe on the daemon's host: for each case (op, layout, B bytes before a
        guard page, A after it, target misalignment r) does the count process_vm_readv/writev
        returns match the bytes the kernel really changed? Prints the class counts, the first
        cases of each class other than EXACT, and the host.
        JSON (--json): one object per line per streamed case {op, layout, layoutName, guard,
        shortSide, before, after, misalignment, ret, errno, runsAgree, deficit, expectedRet,
        firstModified, lastModified, modifiedCount, modifiedBeyondRet, modifiedBeyondRanges:
        [{offset, length}], overReported, modifiedBeforeBuffer, sourceChanged, class}, then a last
        line {summary: {EXACT: n, SHORT_CLEAN: n, SHORT_DIRTY: n, OVER_REPORT: n, EFAULT_CLEAN: n,
        EFAULT_DIRTY: n}, host: {arch, kernelRelease, pageSize, cpuModel, hwcap, hwcap2,
        cpuFeatures, yamaPtraceScope, hasCapSysPtrace, daemonVersion, emulation, hostname},
        total, elapsedSeconds, targetPid, mismatch}.
        Progress is drawn on stderr only when stderr is a terminal.
        Exit codes: 0 every count could be trusted (EXACT, SHORT_CLEAN, EFAULT_CLEAN only),
        8 some count disagreed with the bytes changed (SHORT_DIRTY, OVER_REPORT, EFAULT_DIRTY).
        """;

    public static Command Create(GlobalOptions globals)
    {
        var sweep = new ProbeRequestOptions();
        var json = new Option<bool>("--json") { Description = "JSON lines (see above)." };
        var examples = new Option<int>("--examples")
        {
            Description = "How many cases of each non-EXACT class the table shows.",
            HelpName = "N",
            DefaultValueFactory = _ => 10,
        };
        var command = new Command("probe", Help) { json, examples };
        sweep.AddTo(command);

        CommandRunner.SetBody(command, globals, async context =>
        {
            var progress = ProgressLine.ForStandardError();
            var request = sweep.BuildRequest(context.ParseResult);
            if (progress.Enabled)
            {
                request.ProgressEvery = ProgressEvery;
            }

            var asJson = context.GetValue(json);
            var run = new ProbeRun(Math.Max(0, context.GetValue(examples)), collectCases: false);
            var lines = 0;
            try
            {
                await foreach (var response in context.Connect().ProbeAsync(request, context.CancellationToken).ConfigureAwait(false))
                {
                    run.Add(response);
                    if (asJson && response.Case is { } probeCase)
                    {
                        context.Out.WriteLine(JsonOutput.ToLine(w => JsonOutput.WriteProbeCase(w, probeCase)));
                        if (++lines % ProgressEvery == 0)
                        {
                            // A reader of the JSON lines sees cases while the sweep runs.
                            await context.Out.FlushAsync(context.CancellationToken).ConfigureAwait(false);
                        }
                    }
                    else if (response.Progress is { } p)
                    {
                        progress.Update(string.Create(CultureInfo.InvariantCulture, $"probe: {p.Done}/{p.Total} cases ({ProgressLine.Percent(p.Done, p.Total)})"));
                    }
                }
            }
            finally
            {
                progress.Clear();
            }

            var summary = run.RequireSummary();
            if (asJson)
            {
                context.Out.WriteLine(JsonOutput.ToLine(w => JsonOutput.WriteProbeSummary(w, summary)));
            }
            else
            {
                ProbeReport.Write(context.Out, request, run, context.GetValue(examples));
            }

            return ProbeVerdict.HasMismatch(summary) ? ExitCode.Mismatch : ExitCode.Ok;
        });
        return command;
    }
}
