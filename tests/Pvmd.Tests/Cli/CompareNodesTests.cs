using Pvmd.Cli;
using Pvmd.Cli.Commands;
using Pvmd.Cli.Probing;
using Pvmd.V1;

namespace Pvmd.Tests.Cli;

/// <summary>pvmctl compare across a fleet: the --nodes list and the per-architecture table.</summary>
public sealed class CompareNodesTests
{
    [Fact]
    public void Parse_SocketsAndUrls_SkippingBlanksAndComments()
    {
        var nodes = CompareNodes.Parse(
            ["# the fleet", "/run/pvmd/pvmd.sock", "", "  https://10.0.0.7:7443  # arm64 node", "http://[::1]:7000"], "nodes.txt");

        Assert.Equal(["unix:/run/pvmd/pvmd.sock", "https://10.0.0.7:7443/", "http://[::1]:7000/"], nodes.Select(n => n.Endpoint));
    }

    [Fact]
    public void Parse_AnythingElse_NamesTheFileAndLine()
    {
        var error = Assert.Throws<UsageException>(() => CompareNodes.Parse(["/run/pvmd/pvmd.sock", "node-2:7443"], "nodes.txt"));

        Assert.Contains("nodes.txt:2", error.Message);
        Assert.Contains("node-2:7443", error.Message);
    }

    private static ProbeCase Case(int before, CaseClass cls) =>
        new() { Op = ProbeOp.Readv, Layout = ProbeLayout.Single, Before = before, After = 1, Misalignment = 0, Class = cls };

    private static DaemonRun Node(string name, string arch, string kernel, ulong total, params ProbeCase[] streamed)
    {
        var run = new ProbeRun(examplesPerClass: 2, collectCases: true);
        foreach (var c in streamed)
        {
            run.Add(new ProbeResponse { Case = c });
        }

        var summary = new ProbeSummary { Total = total, Host = new Platform { Arch = arch, KernelRelease = kernel } };
        summary.Counts.Add(new ClassCount { Class = CaseClass.Exact, Count = total - (ulong)streamed.Length });
        foreach (var group in streamed.GroupBy(c => c.Class))
        {
            summary.Counts.Add(new ClassCount { Class = group.Key, Count = (ulong)group.Count() });
        }

        run.Add(new ProbeResponse { Summary = summary });
        return new DaemonRun("unix:/" + name, name, run);
    }

    [Fact]
    public void ByArchitecture_GroupsNodesAndShowsWhereArchitecturesAndKernelsDisagree()
    {
        // Two exact x86_64 nodes; two arm64 nodes, of which the 5.10 one has dirty short copies.
        var comparison = ProbeComparison.Compare(
        [
            Node("a", "x86_64", "6.1.0", 10),
            Node("b", "x86_64", "6.1.0", 10),
            Node("c", "aarch64", "5.10.0", 10, Case(1, CaseClass.ShortDirty), Case(2, CaseClass.ShortDirty)),
            Node("d", "aarch64", "6.1.0", 10, Case(2, CaseClass.ShortDirty)),
        ], exactStreamed: false);
        var text = new StringWriter();

        CompareNodes.WriteByArchitecture(text, comparison, maxCases: 10);

        var lines = text.ToString().Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Matches(@"^\s+x86_64\s+aarch64$", lines[2]);
        Assert.Matches(@"^\s+nodes\s+2\s+2$", lines[3]);
        Assert.Matches(@"^\s+kernels\s+6\.1\.0\s+5\.10\.0, 6\.1\.0$", lines[4]);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+SHORT_DIRTY\s+0\s+1\.\.2$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+cases its nodes disagree on\s+0\s+1$"));
        // Case B=1 is mixed on arm64 and EXACT on x86_64; B=2 is SHORT_DIRTY on every arm64 node.
        Assert.Contains("2 cases differ between architectures; the first 2:", lines);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"EXACT\s+mixed$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"EXACT\s+SHORT_DIRTY$"));
    }

    [Fact]
    public void ByArchitecture_OneArchitecture_HasNoCrossArchitectureSection()
    {
        var comparison = ProbeComparison.Compare([Node("a", "x86_64", "6.1.0", 4), Node("b", "x86_64", "6.12.0", 4)], exactStreamed: false);
        var text = new StringWriter();

        CompareNodes.WriteByArchitecture(text, comparison, maxCases: 10);

        Assert.DoesNotContain("between architectures", text.ToString());
        Assert.Contains("6.1.0, 6.12.0", text.ToString());
    }
}
