using System.Text.Json;
using Pvmd.Cli.Formatting;
using Pvmd.Cli.Probing;
using Pvmd.V1;

namespace Pvmd.Tests.Cli;

/// <summary>Comparing one sweep across daemons, and the probe tallies it is built from.</summary>
public sealed class ProbeComparisonTests
{
    private static ProbeCase Case(int before, CaseClass cls) =>
        new() { Op = ProbeOp.Readv, Layout = ProbeLayout.Single, Before = before, After = 1, Misalignment = 0, Class = cls };

    private static DaemonRun Run(string label, ulong total, params ProbeCase[] streamed)
    {
        var run = new ProbeRun(examplesPerClass: 2, collectCases: true);
        foreach (var c in streamed)
        {
            run.Add(new ProbeResponse { Case = c });
        }

        var summary = new ProbeSummary { Total = total, Host = new Platform { Arch = label } };
        var exact = total - (ulong)streamed.Length;
        summary.Counts.Add(new ClassCount { Class = CaseClass.Exact, Count = exact });
        foreach (var group in streamed.GroupBy(c => c.Class))
        {
            summary.Counts.Add(new ClassCount { Class = group.Key, Count = (ulong)group.Count() });
        }

        run.Add(new ProbeResponse { Summary = summary });
        return new DaemonRun("unix:/" + label, label, run);
    }

    [Fact]
    public void Compare_SameStreamedCases_Agree()
    {
        var comparison = ProbeComparison.Compare([Run("a", 10, Case(0, CaseClass.EfaultClean)), Run("b", 10, Case(0, CaseClass.EfaultClean))], exactStreamed: false);

        Assert.False(comparison.Differ);
        Assert.Empty(comparison.Differences);
    }

    [Fact]
    public void Compare_CaseStreamedByOneDaemonOnly_WasExactOnTheOther()
    {
        var comparison = ProbeComparison.Compare(
            [Run("x86_64", 10), Run("aarch64", 10, Case(5, CaseClass.ShortDirty), Case(3, CaseClass.ShortClean))],
            exactStreamed: false);

        Assert.True(comparison.Differ);
        Assert.True(comparison.CountsDiffer);
        Assert.Equal(["readv/single/B=3/A=1/r=0", "readv/single/B=5/A=1/r=0"], comparison.Differences.Select(d => d.Key.ToString()));
        Assert.Equal([CaseClass.Exact, CaseClass.ShortDirty], comparison.Differences[1].Classes);
    }

    [Fact]
    public void Compare_WithExactStreamed_SilenceIsAbsenceNotExact()
    {
        var comparison = ProbeComparison.Compare([Run("a", 1, Case(1, CaseClass.Exact)), Run("b", 1)], exactStreamed: true);

        var difference = Assert.Single(comparison.Differences);
        Assert.Equal([CaseClass.Exact, null], difference.Classes);
    }

    [Fact]
    public void Compare_DifferentSweepSizes_Differ()
    {
        var comparison = ProbeComparison.Compare([Run("a", 10), Run("b", 12)], exactStreamed: false);

        Assert.True(comparison.TotalsDiffer);
        Assert.True(comparison.Differ);
    }

    [Fact]
    public void WriteJson_HasTheDocumentedShape()
    {
        var comparison = ProbeComparison.Compare([Run("a", 10), Run("b", 10, Case(5, CaseClass.OverReport))], exactStreamed: false);

        var json = JsonDocument.Parse(JsonOutput.ToLine(comparison.WriteJson)).RootElement;

        Assert.Equal(["daemons", "totalsDiffer", "countsDiffer", "differingCases", "differences", "differ"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["endpoint", "label", "host", "total", "elapsedSeconds", "summary"], json.GetProperty("daemons")[0].EnumerateObject().Select(p => p.Name));
        var difference = json.GetProperty("differences")[0];
        Assert.Equal("readv/single/B=5/A=1/r=0", difference.GetProperty("case").GetString());
        Assert.Equal(["EXACT", "OVER_REPORT"], difference.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.True(json.GetProperty("differ").GetBoolean());
    }

    [Fact]
    public void WriteText_HasOneColumnPerDaemonAndTheDifferingCases()
    {
        var comparison = ProbeComparison.Compare([Run("x86_64", 10), Run("aarch64", 10, Case(5, CaseClass.ShortDirty))], exactStreamed: false);
        var output = new StringWriter();

        comparison.WriteText(output, new ProbeRequest { Op = ProbeOp.Readv }, maxCases: 10);

        var text = output.ToString();
        Assert.Matches(@"class\s+x86_64\s+aarch64", text);
        Assert.Matches(@"SHORT_DIRTY\s+0\s+1", text);
        Assert.Matches(@"readv/single/B=5/A=1/r=0\s+EXACT\s+SHORT_DIRTY", text);
        Assert.Contains("DIFFER", text, StringComparison.Ordinal);
        Assert.Contains("sweep: op readv, layout single, guard prot-none, short side local", text, StringComparison.Ordinal);
    }

    [Fact]
    public void UniqueLabels_Repeats_AreNumbered() =>
        Assert.Equal(["x86_64 6.1 #1", "aarch64 5.10", "x86_64 6.1 #2"], ProbeComparison.UniqueLabels(["x86_64 6.1", "aarch64 5.10", "x86_64 6.1"]));

    [Fact]
    public void ProbeRun_KeepsOnlyTheFirstExamplesOfEachClass()
    {
        var run = new ProbeRun(examplesPerClass: 2, collectCases: false);
        for (var b = 0; b < 5; b++)
        {
            run.Add(new ProbeResponse { Case = Case(b, CaseClass.ShortClean) });
        }

        Assert.Equal([0, 1], run.Examples(CaseClass.ShortClean).Select(c => c.Before));
        Assert.Equal(5UL, run.Streamed(CaseClass.ShortClean));
        Assert.Empty(run.Cases);
    }

    [Fact]
    public void ProbeRun_WithoutSummary_IsAnUnexpectedResponse() =>
        Assert.Throws<Pvmd.Client.UnexpectedResponseException>(() => new ProbeRun(1, false).RequireSummary());

    [Fact]
    public void CaseKey_RrLayout_IsNamed() =>
        Assert.Equal(
            "writev/rr:split-local/B=4/A=0/r=0",
            CaseKey.Of(new ProbeCase { Op = ProbeOp.Writev, Layout = ProbeLayout.Rr, LayoutName = "split-local", Before = 4 }).ToString());
}
