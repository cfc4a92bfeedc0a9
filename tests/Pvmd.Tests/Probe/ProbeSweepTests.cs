using Pvmd.Core;
using Pvmd.Core.Probe;

namespace Pvmd.Tests.Probe;

public sealed class ProbeSweepTests
{
    private const int PageSize = 4096;

    [Fact]
    public void Defaults_AreTheDesignNotesSweep()
    {
        var sweep = new ProbeSweep();

        sweep.Validate(PageSize);

        Assert.Equal(264_192, sweep.CaseCount());
        Assert.Equal(129, sweep.BeforeValues().Length);
        Assert.Equal(64, sweep.AfterValues().Length);
    }

    [Fact]
    public void CaseCount_OneOp_IsHalf()
    {
        Assert.Equal(132_096, new ProbeSweep { Op = ProbeOp.Writev }.CaseCount());
    }

    [Fact]
    public void CaseCount_RrLayouts_AreFourPerOp()
    {
        Assert.Equal(8, new ProbeSweep { Layout = ProbeLayout.Rr }.CaseCount());
        Assert.Equal(4, new ProbeSweep { Layout = ProbeLayout.Rr, Op = ProbeOp.Readv }.CaseCount());
    }

    [Fact]
    public void CaseCount_SparseValues_AddOnlyNewOnes()
    {
        var sweep = new ProbeSweep
        {
            Before = new(0, 3),
            After = new(1, 1),
            Misalignment = new(0, 0),
            SparseBefore = [2, 1000, 4095, 1000],
            SparseAfter = [3000],
        };

        sweep.Validate(PageSize);

        Assert.Equal([0, 1, 2, 3, 1000, 4095], sweep.BeforeValues());
        Assert.Equal(2L * 6 * 2, sweep.CaseCount());
    }

    private static readonly Dictionary<string, ProbeSweep> s_badSweeps = new()
    {
        ["before min above max"] = new ProbeSweep { Before = new(10, 5) },
        ["negative before"] = new ProbeSweep { Before = new(-1, 5) },
        ["negative after"] = new ProbeSweep { After = new(-3, 5) },
        ["after min above max"] = new ProbeSweep { After = new(9, 8) },
        ["negative misalignment"] = new ProbeSweep { Misalignment = new(-1, 0) },
        ["before reaches the page size"] = new ProbeSweep { Before = new(0, PageSize) },
        ["after reaches the page size"] = new ProbeSweep { After = new(1, PageSize) },
        ["misalignment reaches the page size"] = new ProbeSweep { Misalignment = new(0, PageSize) },
        ["sparse before reaches the page size"] = new ProbeSweep { SparseBefore = [PageSize] },
        ["negative sparse after"] = new ProbeSweep { SparseAfter = [-1] },
        ["B + A too large for the layout"] = new ProbeSweep { SparseBefore = [4095], SparseAfter = [4095] },
        ["too many cases"] = new ProbeSweep { Before = new(0, 2000), After = new(0, 2000) },
        ["negative progress"] = new ProbeSweep { ProgressEvery = -1 },
        ["unknown op"] = new ProbeSweep { Op = (ProbeOp)7 },
        ["unknown guard"] = new ProbeSweep { Guard = (GuardKind)7 },
        ["unknown layout"] = new ProbeSweep { Layout = (ProbeLayout)7 },
        ["unknown short side"] = new ProbeSweep { ShortSide = (ShortSide)7 },
        ["target pid zero"] = new ProbeSweep { Target = new ProbeTarget(0, 0, 0x10000) },
        ["negative target pid"] = new ProbeSweep { Target = new ProbeTarget(-5, 0, 0x10000) },
        ["target without address"] = new ProbeSweep { Target = new ProbeTarget(1234, 0, 0) },
        ["target address overflows"] = new ProbeSweep { Target = new ProbeTarget(1234, 0, ulong.MaxValue - 100) },
        ["rr layouts on a target"] = new ProbeSweep { Layout = ProbeLayout.Rr, Target = new ProbeTarget(1234, 0, 0x10000) },
        ["remote short side on a target"] = new ProbeSweep { ShortSide = ShortSide.Remote, Target = new ProbeTarget(1234, 0, 0x10000) },
    };

    public static TheoryData<string> BadSweeps() => [.. s_badSweeps.Keys];

    [Theory]
    [MemberData(nameof(BadSweeps))]
    public void Validate_BadValue_Throws(string bad)
    {
        var sweep = s_badSweeps[bad];

        var error = Assert.Throws<InvalidRequestException>(() => sweep.Validate(PageSize));

        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Equal("INVALID_REQUEST", error.Reason);
    }

    [Fact]
    public void Validate_LargestBuffersThatFit_Pass()
    {
        // 64 + 15 + 4095 + 3954 + 64 = 8192 bytes: exactly the two flat pages.
        var sweep = new ProbeSweep { SparseBefore = [4095], SparseAfter = [3954] };

        sweep.Validate(PageSize);

        Assert.Equal(2L * PageSize, sweep.RemoteBytes);
    }

    [Fact]
    public async Task RunAsync_BadSweep_ThrowsBeforeStartingAnything()
    {
        var started = false;
        var options = new ScratchChildOptions("/nonexistent/pvmd", []) { Started = _ => started = true };

        await Assert.ThrowsAsync<InvalidRequestException>(async () =>
        {
            await foreach (var _ in ShortBufferProbe.RunAsync(new ProbeSweep { Before = new(5, 1) }, options))
            {
            }
        });

        Assert.False(started);
    }
}
