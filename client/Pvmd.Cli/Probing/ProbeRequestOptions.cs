using System.CommandLine;
using Pvmd.Cli.Parsing;
using Pvmd.V1;

namespace Pvmd.Cli.Probing;

/// <summary>The sweep options 'probe' and 'compare' share, and the request they make.
/// Options left out are left to the daemon's defaults (shown in the help).</summary>
internal sealed class ProbeRequestOptions
{
    public Option<string?> Op { get; } = Choice("--op", "Which call to probe (default: both).", "readv", "writev", "both");

    public Option<(int Min, int Max)?> Before { get; } = SweepRange("--before", "B, the bytes before the break (default 0..128).");

    public Option<(int Min, int Max)?> After { get; } = SweepRange("--after", "A, the bytes after the break (default 1..64).");

    public Option<(int Min, int Max)?> Misalignment { get; } = SweepRange("--misalignment", "r, the target buffer's misalignment: it starts at page offset 64 + r (default 0..15).");

    public Option<int[]> SparseBefore { get; } = OptionFactory.IntList("--sparse-before", "Extra B values (each below the page size) added to the sweep.");

    public Option<int[]> SparseAfter { get; } = OptionFactory.IntList("--sparse-after", "Extra A values (each below the page size) added to the sweep.");

    public Option<string?> Guard { get; } = Choice("--guard", "What follows the break: a PROT_NONE page or an unmapped one (default: prot-none).", "prot-none", "munmap");

    public Option<string?> Layout { get; } = Choice("--layout", "One iovec, the short side split in two, or rr's four fixed layouts (default: single).", "single", "split", "rr");

    public Option<string?> ShortSide { get; } = Choice("--short-side", "Which buffer runs into the guard page: the daemon's (local) or the target's (default: local).", "local", "remote");

    public Option<int?> Pid { get; } = OptionFactory.Pid(required: false);

    public Option<ulong> StartTime { get; } = OptionFactory.StartTime();

    public Option<ulong?> RemoteAddress { get; } = OptionFactory.Address("--remote-address", "With --pid: where in that process the probe writes its patterns (restored afterwards; use a stopped or cooperating process).");

    public Option<bool> IncludeExact { get; } = new("--include-exact") { Description = "Stream EXACT cases too (default: only the others)." };

    public void AddTo(Command command)
    {
        command.Options.Add(Op);
        command.Options.Add(Before);
        command.Options.Add(After);
        command.Options.Add(Misalignment);
        command.Options.Add(SparseBefore);
        command.Options.Add(SparseAfter);
        command.Options.Add(Guard);
        command.Options.Add(Layout);
        command.Options.Add(ShortSide);
        command.Options.Add(Pid);
        command.Options.Add(StartTime);
        command.Options.Add(RemoteAddress);
        command.Options.Add(IncludeExact);
        command.Validators.Add(result =>
        {
            var hasPid = result.GetResult(Pid) is { Implicit: false };
            var hasAddress = result.GetResult(RemoteAddress) is { Implicit: false };
            if (hasPid != hasAddress)
            {
                result.AddError("--pid and --remote-address go together: the probe needs both to use another process than the daemon's scratch child");
            }
        });
    }

    public ProbeRequest BuildRequest(ParseResult parseResult, bool includeExact = false)
    {
        var request = new ProbeRequest
        {
            Op = parseResult.GetValue(Op) switch
            {
                "readv" => ProbeOp.Readv,
                "writev" => ProbeOp.Writev,
                _ => ProbeOp.Unspecified,
            },
            Guard = parseResult.GetValue(Guard) switch
            {
                "munmap" => GuardKind.Munmap,
                "prot-none" => GuardKind.ProtNone,
                _ => GuardKind.Unspecified,
            },
            Layout = parseResult.GetValue(Layout) switch
            {
                "split" => ProbeLayout.Split,
                "rr" => ProbeLayout.Rr,
                "single" => ProbeLayout.Single,
                _ => ProbeLayout.Unspecified,
            },
            ShortSide = parseResult.GetValue(ShortSide) switch
            {
                "remote" => V1.ShortSide.Remote,
                "local" => V1.ShortSide.Local,
                _ => V1.ShortSide.Unspecified,
            },
            Before = ToProto(parseResult.GetValue(Before)),
            After = ToProto(parseResult.GetValue(After)),
            Misalignment = ToProto(parseResult.GetValue(Misalignment)),
            IncludeExact = includeExact || parseResult.GetValue(IncludeExact),
        };
        request.SparseBefore.AddRange(parseResult.GetValue(SparseBefore) ?? []);
        request.SparseAfter.AddRange(parseResult.GetValue(SparseAfter) ?? []);
        if (parseResult.GetValue(Pid) is { } pid)
        {
            request.Target = new Target { Pid = pid, StartTime = parseResult.GetValue(StartTime) };
            request.RemoteAddress = parseResult.GetValue(RemoteAddress) ?? 0;
        }

        return request;
    }

    private static IntRange? ToProto((int Min, int Max)? range) =>
        range is { } r ? new IntRange { Min = r.Min, Max = r.Max } : null;

    private static Option<string?> Choice(string name, string description, params string[] values)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = string.Join('|', values) };
        option.AcceptOnlyFromAmong(values);
        return option;
    }

    private static Option<(int Min, int Max)?> SweepRange(string name, string description) =>
        OptionFactory.IntRange(name, description);
}
