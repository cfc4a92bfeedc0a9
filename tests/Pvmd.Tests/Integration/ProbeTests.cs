using Grpc.Core;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;

namespace Pvmd.Tests.Integration;

/// <summary>ProbeShortBuffer with small sweeps: the records are consistent with each other and
/// with the summary, the kernel's rules hold, and an explicit target gets its memory back.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ProbeTests : IClassFixture<TargetFixture>
{
    private readonly DaemonFixture _daemon;
    private readonly TargetProcess _target;

    public ProbeTests(DaemonFixture daemon, TargetFixture target)
    {
        _daemon = daemon;
        _target = target.Target;
    }

    [Fact]
    public async Task Probe_SmallSweep_StreamsOneRecordPerCaseAndAMatchingSummary()
    {
        var request = SmallSweep();
        request.IncludeExact = true;
        request.ProgressEvery = 10;

        var (cases, progress, summary) = await ProbeAsync(request);

        // 2 ops x B 0..8 x A 1..4 x r 0..1
        const int Total = 2 * 9 * 4 * 2;
        Assert.Equal(Total, cases.Count);
        Assert.Equal((ulong)Total, summary.Total);
        Assert.Equal((ulong)Total, summary.Counts.Aggregate(0UL, (sum, c) => sum + c.Count));
        foreach (var group in cases.GroupBy(c => c.Class))
        {
            Assert.Equal((ulong)group.Count(), summary.Counts.Single(c => c.Class == group.Key).Count);
        }
        Assert.Equal(Total, cases.Select(c => (c.Op, c.Before, c.After, c.Misalignment)).Distinct().Count());
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal((ulong)Total, p.Total));
        Assert.Equal(progress.Select(p => p.Done).Order(), progress.Select(p => p.Done));
        Assert.NotEqual(0, summary.TargetPid);
        Assert.Equal(_daemon.Platform.Arch, summary.Host.Arch);
    }

    [Fact]
    public async Task Probe_EveryRecord_IsConsistentWithItsClassAndTheKernelsRules()
    {
        var request = SmallSweep();
        request.IncludeExact = true;

        var (cases, _, _) = await ProbeAsync(request);

        foreach (var c in cases)
        {
            var what = $"{c.Op} B={c.Before} A={c.After} r={c.Misalignment}: {c}";
            Assert.True(c.ExpectedRet == c.Before, what);
            Assert.True(c.Deficit == (c.Ret < 0 ? c.Before : c.Before - c.Ret), what);
            // The kernel may write more than it reports, never report bytes it did not write.
            Assert.True(c.OverReported == 0, what);
            Assert.True(c.Ret <= c.Before + c.After, what);
            Assert.True(c.RunsAgree, what);
            var expectedClass = c.Ret < 0
                ? (c.ModifiedCount == 0 ? CaseClass.EfaultClean : CaseClass.EfaultDirty)
                : c.ModifiedBeyondRet > 0 || c.ModifiedBeforeBuffer > 0 ? CaseClass.ShortDirty
                : c.Ret < c.Before ? CaseClass.ShortClean
                : CaseClass.Exact;
            Assert.True(expectedClass == c.Class, what);
        }
        if (_daemon.Platform.Arch == "x86_64")
        {
            // Measured on x86_64: the kernel fills up to the break and returns exactly that.
            Assert.All(cases, c => Assert.True(c.Class == CaseClass.Exact || (c.Before == 0 && c.Class == CaseClass.EfaultClean), $"{c}"));
        }
    }

    [Fact]
    public async Task Probe_RrLayouts_RunsTheFourFixedCasesPerOp()
    {
        var request = new ProbeRequest { Layout = ProbeLayout.Rr, IncludeExact = true };

        var (cases, _, summary) = await ProbeAsync(request);

        Assert.Equal(8, cases.Count);
        Assert.Equal(8UL, summary.Total);
        Assert.Equal(2, cases.Select(c => c.Op).Distinct().Count());
        Assert.All(cases, c => Assert.False(string.IsNullOrEmpty(c.LayoutName)));
        Assert.Equal(4, cases.Select(c => c.LayoutName).Distinct().Count());
        if (_daemon.Platform.Arch == "x86_64")
        {
            Assert.All(cases, c => Assert.True(c.Ret == c.ExpectedRet, $"{c}"));
        }
    }

    [Fact]
    public async Task Probe_ExplicitTarget_UsesItsMemoryAndRestoresIt()
    {
        var request = SmallSweep();
        request.Target = _target.Target;
        request.RemoteAddress = _target.Pattern.Start;

        var (_, _, summary) = await ProbeAsync(request);

        Assert.Equal(_target.Pid, summary.TargetPid);
        Assert.Equal((ulong)(2 * 9 * 4 * 2), summary.Total);
        Assert.Equal(TestPattern.Bytes(TestPattern.PatternSeed, 0, _target.PageSize), _target.Dump(_target.Pattern.Start, _target.PageSize));
    }

    [Fact]
    public async Task Probe_ExplicitTargetWithoutRemoteAddress_IsInvalid()
    {
        var request = SmallSweep();
        request.Target = _target.Target;

        await Expect.ErrorAsync(() => ProbeAsync(request), StatusCode.InvalidArgument, "INVALID_REQUEST");
    }

    private static ProbeRequest SmallSweep() => new()
    {
        Before = new IntRange { Min = 0, Max = 8 },
        After = new IntRange { Min = 1, Max = 4 },
        Misalignment = new IntRange { Min = 0, Max = 1 },
    };

    private async Task<(List<ProbeCase> Cases, List<ProbeProgress> Progress, ProbeSummary Summary)> ProbeAsync(ProbeRequest request)
    {
        var cases = new List<ProbeCase>();
        var progress = new List<ProbeProgress>();
        ProbeSummary? summary = null;
        using var call = _daemon.Client.ProbeShortBuffer(request, deadline: DateTime.UtcNow.AddMinutes(2));
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            Assert.True(summary is null, "a message after the summary");
            switch (message.KindCase)
            {
                case ProbeResponse.KindOneofCase.Case:
                    cases.Add(message.Case);
                    break;
                case ProbeResponse.KindOneofCase.Progress:
                    progress.Add(message.Progress);
                    break;
                case ProbeResponse.KindOneofCase.Summary:
                    summary = message.Summary;
                    break;
                default:
                    Assert.Fail($"a message of no kind: {message}");
                    break;
            }
        }
        Assert.True(summary is not null, "the stream ended without a summary");
        return (cases, progress, summary);
    }
}
