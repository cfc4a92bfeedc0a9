using System.CommandLine;
using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.Cli.Probing;
using Pvmd.Client;

namespace Pvmd.Cli.Commands;

/// <summary>pvmctl compare --socket A --socket B ... [sweep options] [--json] [--examples N]:
/// the same probe on several daemons at once, side by side.</summary>
internal static class CompareCommand
{
    private const string Help = """
        Run the same short-copy probe on two or more daemons at once (repeat --socket and/or
        --address) and compare: the class counts in one column per daemon, labelled
        'arch kernel', then the cases the daemons classify differently (op/layout/B/A/r ->
        class on each). Takes the sweep options of 'probe'. Without --include-exact a case a
        daemon did not stream was EXACT there.
        JSON (--json), one object: {daemons: [{endpoint, label, host, total, elapsedSeconds,
        summary: {EXACT: n, ...}}], totalsDiffer, countsDiffer, differingCases, differences:
        [{case, op, layout, layoutName, before, after, misalignment, classes: [CLASS or null,
        one per daemon in order]}], differ}. JSON lists every differing case.
        Exit codes: 0 the daemons agree on every case, 8 they differ.
        """;

    public static Command Create(GlobalOptions globals)
    {
        var sweep = new ProbeRequestOptions();
        var json = new Option<bool>("--json") { Description = "One JSON object (see above)." };
        var examples = new Option<int>("--examples")
        {
            Description = "How many differing cases the text output lists.",
            HelpName = "N",
            DefaultValueFactory = _ => 20,
        };
        var command = new Command("compare", Help) { json, examples };
        sweep.AddTo(command);

        CommandRunner.SetBody(command, globals, async context =>
        {
            var clients = context.ConnectAll();
            if (clients.Count < 2)
            {
                throw new UsageException("compare needs two or more daemons: repeat --socket and/or --address");
            }

            var request = sweep.BuildRequest(context.ParseResult);
            var progress = ProgressLine.ForStandardError();
            if (progress.Enabled)
            {
                request.ProgressEvery = ProbeCommand.ProgressEvery;
            }

            var runs = clients.Select(_ => new ProbeRun(0, collectCases: true)).ToArray();
            var gate = new Lock();
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            try
            {
                await Task.WhenAll(clients.Select((client, i) => RunOneAsync(client, runs[i], request.Clone(), () =>
                {
                    lock (gate)
                    {
                        progress.Update("compare: " + string.Join("  ", runs.Select((r, j) => $"[{j + 1}] {Percent(r)}")));
                    }
                }, failed))).ConfigureAwait(false);
            }
            finally
            {
                progress.Clear();
            }

            var labels = ProbeComparison.UniqueLabels([.. runs.Select(r => ProbeReport.Label(r.RequireSummary().Host))]);
            var daemons = runs.Select((r, i) => new DaemonRun(clients[i].Options?.Endpoint ?? "?", labels[i], r)).ToArray();
            var comparison = ProbeComparison.Compare(daemons, request.IncludeExact);
            if (context.GetValue(json))
            {
                context.Out.WriteLine(JsonOutput.ToLine(comparison.WriteJson));
            }
            else
            {
                comparison.WriteText(context.Out, request, Math.Max(0, context.GetValue(examples)));
            }

            return comparison.Differ ? ExitCode.Mismatch : ExitCode.Ok;
        });
        return command;
    }

    private static async Task RunOneAsync(PvmdClient client, ProbeRun run, V1.ProbeRequest request, Action onProgress, CancellationTokenSource failed)
    {
        try
        {
            await foreach (var response in client.ProbeAsync(request, failed.Token).ConfigureAwait(false))
            {
                run.Add(response);
                if (response.Progress is not null)
                {
                    onProgress();
                }
            }

            run.RequireSummary();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // One daemon failing ends the comparison: stop the others instead of waiting for them.
            await failed.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string Percent(ProbeRun run) =>
        run.Summary is not null ? "done"
        : run.Progress is { } p ? ProgressLine.Percent(p.Done, p.Total)
        : "0%";
}
