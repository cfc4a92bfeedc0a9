using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.V1;

namespace Pvmd.Cli.Probing;

/// <summary>The human-readable probe report: the host, the class counts, the first cases of
/// each class other than EXACT, and the verdict.</summary>
internal static class ProbeReport
{
    public static void Write(TextWriter w, ProbeRequest request, ProbeRun run, int examplesPerClass)
    {
        var summary = run.RequireSummary();
        w.WriteLine("host     " + HostLine(summary.Host));
        w.WriteLine("sweep    " + SweepLine(request));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cases    {summary.Total} in {summary.ElapsedSeconds:0.###} s (target pid {summary.TargetPid})"));
        w.WriteLine();

        var counts = new TextTable("class", "cases").AlignRight(1);
        foreach (var cls in Names.Classes)
        {
            counts.Add(Names.Of(cls), ProbeVerdict.Count(summary, cls).ToString(CultureInfo.InvariantCulture));
        }

        counts.WriteTo(w);

        foreach (var cls in Names.Classes.Where(c => c != CaseClass.Exact))
        {
            var examples = run.Examples(cls);
            if (examples.Count == 0 || examplesPerClass == 0)
            {
                continue;
            }

            w.WriteLine();
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Names.Of(cls)}: first {examples.Count} of {ProbeVerdict.Count(summary, cls)}"));
            WriteCases(w, examples);
        }

        w.WriteLine();
        w.WriteLine(ProbeVerdict.HasMismatch(summary)
            ? "verdict  MISMATCH: some counts disagree with the bytes the kernel changed (SHORT_DIRTY, OVER_REPORT or EFAULT_DIRTY)"
            : "verdict  every count matched the bytes the kernel changed");
    }

    public static void WriteCases(TextWriter w, IEnumerable<ProbeCase> cases)
    {
        var table = new TextTable("case", "ret", "expected", "errno", "modified", "beyond", "over", "before-buf", "first..last", "agree")
            .AlignRight(1, 2, 4, 5, 6, 7);
        foreach (var c in cases)
        {
            table.Add(
                CaseKey.Of(c).ToString(),
                Num(c.Ret),
                Num(c.ExpectedRet),
                c.ErrnoName.Length > 0 ? c.ErrnoName : "-",
                Num(c.ModifiedCount),
                Num(c.ModifiedBeyondRet),
                Num(c.OverReported),
                Num(c.ModifiedBeforeBuffer),
                c.ModifiedCount == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{c.FirstModified}..{c.LastModified}"),
                c.RunsAgree ? "yes" : "NO");
        }

        table.WriteTo(w, "  ");
    }

    /// <summary>"x86_64, Linux 6.1.0-18-amd64, 4096-byte pages, CPU ..., emulation: qemu; pvmd 0.1.0 on host".</summary>
    public static string HostLine(Platform? p)
    {
        if (p is null)
        {
            return "(not described)";
        }

        var cpu = p.CpuModel.Length > 0 ? p.CpuModel : "unknown CPU";
        var emulation = p.Emulation.Length > 0 ? p.Emulation : "none known";
        return string.Create(CultureInfo.InvariantCulture,
            $"{p.Arch}, Linux {p.KernelRelease}, {p.PageSize}-byte pages, {cpu}, emulation: {emulation}; pvmd {p.DaemonVersion} on {p.Hostname}");
    }

    /// <summary>"op both, layout single, guard prot-none, short side local" (daemon defaults
    /// for what the request leaves unspecified).</summary>
    public static string SweepLine(ProbeRequest r) =>
        $"op {Names.Of(r.Op)}, layout {Names.Of(r.Layout)}, guard {Names.Of(r.Guard)}, short side {Names.Of(r.ShortSide)}"
        + (r.Target is { Pid: > 0 } t ? string.Create(CultureInfo.InvariantCulture, $", in pid {t.Pid} at {Names.Hex(r.RemoteAddress)}") : "");

    /// <summary>A short column label for a daemon: "arch kernel".</summary>
    public static string Label(Platform? p) => p is null ? "?" : $"{p.Arch} {p.KernelRelease}";

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Num(uint value) => value.ToString(CultureInfo.InvariantCulture);
}
