using Pvmd.Core;
using Pvmd.Core.Host;
using Pvmd.Core.Interop;
using Pvmd.Core.Memory;
using Pvmd.Core.Probe;
using Xunit.Abstractions;

namespace Pvmd.Tests.Probe;

/// <summary>
/// The engine in-process against the real kernel and a scratch child started from the built
/// daemon. What x86_64 does, by reasoning on mm/process_vm_access.c and the x86 usercopy: the
/// local buffer is filled up to the break and the count says exactly that; a remote buffer
/// is pinned page by page and copied up to the first page that cannot be pinned, so a short
/// remote side is exact too; a call that can copy nothing fails with EFAULT and changes
/// nothing. Zero-length iovecs (B = 0 or 1 split at B/2) are skipped by both iterators.
/// </summary>
[Collection(ProbeKernelCollection.Name)]
public sealed class ShortBufferProbeTests(ITestOutputHelper output)
{
    private static bool IsX86 => HostFacts.Current.Arch == "x86_64";

    private sealed record Outcome(ProbeSummary Summary, List<ProbeCaseRecord> Records, List<ProbeProgress> Progress);

    private static async Task<Outcome> Run(ProbeSweep sweep, ScratchChildOptions? options = null, CancellationToken cancellationToken = default)
    {
        var records = new List<ProbeCaseRecord>();
        var progress = new List<ProbeProgress>();
        ProbeSummary? summary = null;
        await foreach (var probeEvent in ShortBufferProbe.RunAsync(sweep, options ?? ProbeEnvironment.ScratchChild(), cancellationToken))
        {
            switch (probeEvent)
            {
                case ProbeCaseRecord record:
                    records.Add(record);
                    break;
                case ProbeProgress step:
                    progress.Add(step);
                    break;
                case ProbeSummary last:
                    Assert.Null(summary);
                    summary = last;
                    break;
            }
        }
        Assert.NotNull(summary);
        return new Outcome(summary, records, progress);
    }

    /// <summary>On x86 every case is exact but those with nothing before the break, which
    /// fail with EFAULT having changed nothing.</summary>
    private static void AssertExactExceptEmptyBefore(ProbeSweep sweep, Outcome outcome)
    {
        long emptyBefore = sweep.BeforeValues()[0] == 0
            ? (sweep.Op == ProbeOp.Both ? 2 : 1) * sweep.AfterValues().Length * (sweep.Misalignment.Max - sweep.Misalignment.Min + 1)
            : 0;
        Assert.Equal(sweep.CaseCount(), outcome.Summary.Total);
        Assert.Equal(sweep.CaseCount() - emptyBefore, outcome.Summary.Counts[CaseClass.Exact]);
        Assert.Equal(emptyBefore, outcome.Summary.Counts[CaseClass.EfaultClean]);
        Assert.Equal(emptyBefore, outcome.Records.Count);
        Assert.All(outcome.Records, record =>
        {
            Assert.Equal(0, record.Before);
            Assert.Equal(CaseClass.EfaultClean, record.Class);
            Assert.Equal(-1, record.Measurement.First.Ret);
            Assert.Equal(Errno.EFAULT, record.Measurement.First.Errno);
            Assert.True(record.Measurement.RunsAgree);
            Assert.Equal(0, record.Measurement.ModifiedCount);
            Assert.False(record.SourceChanged);
        });
    }

    [Theory]
    [InlineData(GuardKind.ProtNone)]
    [InlineData(GuardKind.Munmap)]
    public async Task FullDefaultSweep_OnX86_IsExactButForTheEmptyBuffers(GuardKind guard)
    {
        var sweep = new ProbeSweep { Guard = guard };

        var outcome = await Run(sweep);

        output.WriteLine($"{guard}: {outcome.Summary.Total} cases in {outcome.Summary.ElapsedSeconds:0.000} s");
        Assert.Equal(264_192, outcome.Summary.Total);
        Assert.Equal(outcome.Summary.Total, outcome.Summary.Counts.Values.Sum());
        if (IsX86)
        {
            AssertExactExceptEmptyBefore(sweep, outcome);
            Assert.Equal(2_048, outcome.Summary.Counts[CaseClass.EfaultClean]);
        }
    }

    [Theory]
    [InlineData(ProbeLayout.Split, ShortSide.Local, GuardKind.ProtNone)]
    [InlineData(ProbeLayout.Split, ShortSide.Local, GuardKind.Munmap)]
    [InlineData(ProbeLayout.Single, ShortSide.Remote, GuardKind.ProtNone)]
    [InlineData(ProbeLayout.Single, ShortSide.Remote, GuardKind.Munmap)]
    [InlineData(ProbeLayout.Split, ShortSide.Remote, GuardKind.ProtNone)]
    public async Task SplitAndRemoteShortSide_OnX86_AreExactUpToTheBreak(ProbeLayout layout, ShortSide shortSide, GuardKind guard)
    {
        var sweep = new ProbeSweep
        {
            Layout = layout,
            ShortSide = shortSide,
            Guard = guard,
            Before = new(0, 40),
            After = new(1, 12),
            Misalignment = new(0, 3),
            // Buffers of nearly a page before the break and a page's worth after it.
            SparseBefore = [1000, 4095],
            SparseAfter = [100, 3900],
        };

        var outcome = await Run(sweep);

        output.WriteLine($"{layout}/{shortSide}/{guard}: {outcome.Summary.Total} cases in {outcome.Summary.ElapsedSeconds:0.000} s");
        if (IsX86)
        {
            AssertExactExceptEmptyBefore(sweep, outcome);
            Assert.All(outcome.Records, record => Assert.Equal(shortSide, record.ShortSide));
        }
    }

    [Theory]
    [InlineData(GuardKind.ProtNone)]
    [InlineData(GuardKind.Munmap)]
    public async Task RrLayouts_OnX86_GiveRrsCounts(GuardKind guard)
    {
        var sweep = new ProbeSweep { Layout = ProbeLayout.Rr, Guard = guard, IncludeExact = true };

        var outcome = await Run(sweep);

        Assert.Equal(8, outcome.Records.Count);
        var expected = new Dictionary<string, long>
        {
            ["dest-straddles-break"] = 4,
            ["dest-spare-past-break"] = 5,
            ["source-straddles-break"] = 1,
            ["source-iovecs-meet-break"] = 4,
        };
        foreach (var record in outcome.Records)
        {
            output.WriteLine($"{record.Op} {record.LayoutName}: ret {record.Measurement.First.Ret}, {record.Class}, short {record.ShortSide}");
            Assert.Equal(expected[record.LayoutName], record.Measurement.ExpectedRet);
            if (IsX86)
            {
                Assert.Equal(CaseClass.Exact, record.Class);
                Assert.Equal(expected[record.LayoutName], record.Measurement.First.Ret);
                Assert.Equal(expected[record.LayoutName], record.Measurement.ModifiedCount);
            }
        }
        Assert.Equal(4, outcome.Records.Count(r => r.Op == ProbeOp.Readv));
        // readv's destination is local: rr's first two layouts are short on the daemon's side.
        Assert.Equal(ShortSide.Local, outcome.Records.Single(r => r.Op == ProbeOp.Readv && r.LayoutName == "dest-straddles-break").ShortSide);
        Assert.Equal(ShortSide.Remote, outcome.Records.Single(r => r.Op == ProbeOp.Writev && r.LayoutName == "dest-straddles-break").ShortSide);
    }

    [Fact]
    public async Task IncludeExactAndProgress_ReportEveryCaseAndEveryStep()
    {
        var sweep = new ProbeSweep { Before = new(0, 9), After = new(1, 2), Misalignment = new(0, 1), IncludeExact = true, ProgressEvery = 10 };

        var outcome = await Run(sweep);

        Assert.Equal(80, outcome.Records.Count);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => i * 10L), outcome.Progress.Select(p => p.Done));
        Assert.All(outcome.Progress, p => Assert.Equal(80, p.Total));
        Assert.Equal(HostFacts.Current, outcome.Summary.Host);
    }

    [Fact]
    public async Task ScratchChild_IsReapedAfterTheSweep()
    {
        var pid = 0;

        var outcome = await Run(new ProbeSweep { Before = new(0, 4), After = new(1, 4), Misalignment = new(0, 0) }, ProbeEnvironment.ScratchChild(p => pid = p));

        Assert.NotEqual(0, pid);
        Assert.Equal(pid, outcome.Summary.TargetPid);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"scratch child {pid} is still there");
    }

    [Fact]
    public async Task ScratchChild_IsReapedAfterCancellation()
    {
        var pid = 0;
        using var cancellation = new CancellationTokenSource();
        var sweep = new ProbeSweep { ProgressEvery = 1_000 };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var probeEvent in ShortBufferProbe.RunAsync(sweep, ProbeEnvironment.ScratchChild(p => pid = p), cancellation.Token))
            {
                if (probeEvent is ProbeProgress)
                {
                    Assert.True(Directory.Exists($"/proc/{pid}"));
                    await cancellation.CancelAsync();
                }
            }
        });

        Assert.NotEqual(0, pid);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"scratch child {pid} is still there");
    }

    [Fact]
    public async Task ScratchChild_IsReapedWhenTheConsumerStopsEarly()
    {
        var pid = 0;

        await foreach (var probeEvent in ShortBufferProbe.RunAsync(new ProbeSweep { IncludeExact = true }, ProbeEnvironment.ScratchChild(p => pid = p)))
        {
            break;
        }

        Assert.NotEqual(0, pid);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"scratch child {pid} is still there");
    }

    [Fact]
    public async Task ExplicitTarget_GetsItsMemoryBack()
    {
        using var target = await ScratchChildProcess.StartAsync(ProbeEnvironment.ScratchChild(), GuardKind.ProtNone, CancellationToken.None);
        var address = target.ArenaBase + (ulong)target.PageSize;
        var sweep = new ProbeSweep { Before = new(0, 40), After = new(1, 8), Misalignment = new(0, 3), Target = new ProbeTarget(target.Pid, 0, address) };
        var original = new byte[sweep.RemoteBytes];
        Random.Shared.NextBytes(original);
        RemoteCopy(target.Pid, address, original, write: true);

        var outcome = await Run(sweep);

        Assert.Equal(target.Pid, outcome.Summary.TargetPid);
        Assert.Equal(original, RemoteCopy(target.Pid, address, new byte[original.Length], write: false));
        if (IsX86)
        {
            AssertExactExceptEmptyBefore(sweep, outcome);
        }
    }

    [Fact]
    public async Task ExplicitTarget_GetsItsMemoryBackAfterCancellation()
    {
        using var target = await ScratchChildProcess.StartAsync(ProbeEnvironment.ScratchChild(), GuardKind.ProtNone, CancellationToken.None);
        var address = target.ArenaBase + (ulong)target.PageSize;
        using var handle = TargetHandle.Open(target.Pid);
        var sweep = new ProbeSweep { ProgressEvery = 500, Target = new ProbeTarget(target.Pid, handle.StartTime, address) };
        var original = new byte[sweep.RemoteBytes];
        Random.Shared.NextBytes(original);
        RemoteCopy(target.Pid, address, original, write: true);
        using var cancellation = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var probeEvent in ShortBufferProbe.RunAsync(sweep, cancellationToken: cancellation.Token))
            {
                if (probeEvent is ProbeProgress)
                {
                    // Mid-sweep the target holds the probe's bytes, not its own.
                    Assert.NotEqual(original, RemoteCopy(target.Pid, address, new byte[original.Length], write: false));
                    await cancellation.CancelAsync();
                }
            }
        });

        Assert.Equal(original, RemoteCopy(target.Pid, address, new byte[original.Length], write: false));
    }

    [Fact]
    public async Task ExplicitTarget_RangeNotWritable_IsRefusedBeforeAnythingIsWritten()
    {
        using var target = await ScratchChildProcess.StartAsync(ProbeEnvironment.ScratchChild(), GuardKind.ProtNone, CancellationToken.None);
        // The child's arena ends in its PROT_NONE guard and tail pages.
        var guard = target.ArenaBase + (ulong)(target.PageSize * (1 + ProbeSweep.FlatPages + 2));
        var sweep = new ProbeSweep { Target = new ProbeTarget(target.Pid, 0, guard - 100) };

        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => Run(sweep));

        Assert.Contains("readable and writable", error.Message);
    }

    [Fact]
    public async Task ExplicitTarget_StartTimeMismatch_IsRefused()
    {
        using var target = await ScratchChildProcess.StartAsync(ProbeEnvironment.ScratchChild(), GuardKind.ProtNone, CancellationToken.None);
        var sweep = new ProbeSweep { Target = new ProbeTarget(target.Pid, 1, target.ArenaBase + (ulong)target.PageSize) };

        await Assert.ThrowsAsync<TargetChangedException>(() => Run(sweep));
    }

    private static unsafe byte[] RemoteCopy(int pid, ulong address, byte[] buffer, bool write)
    {
        fixed (byte* bytes = buffer)
        {
            var local = new IoVec((nuint)bytes, (nuint)buffer.Length);
            var remote = new IoVec((nuint)address, (nuint)buffer.Length);
            var ret = write
                ? Libc.ProcessVmWritev(pid, &local, 1, &remote, 1, 0)
                : Libc.ProcessVmReadv(pid, &local, 1, &remote, 1, 0);
            Assert.Equal(buffer.Length, (long)ret);
        }
        return buffer;
    }
}
