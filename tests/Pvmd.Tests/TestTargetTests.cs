using Pvmd.Core.Procfs;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;

namespace Pvmd.Tests;

/// <summary>The test target itself lays out its memory as it says: the integration tests
/// build on this, so a broken target fails here, not as a daemon bug.</summary>
public sealed class TestTargetTests : IClassFixture<TargetFixture>
{
    private readonly TargetProcess _target;

    public TestTargetTests(TargetFixture fixture) => _target = fixture.Target;

    [Fact]
    public void Layout_MapsEachRegionWithItsPermissions()
    {
        var maps = ProcMaps.Read(_target.Pid);
        var page = (ulong)_target.PageSize;

        Assert.Equal("rw-p", maps.Find(_target.Pattern.Start)!.Permissions);
        Assert.Equal(_target.Pattern.End, maps.Find(_target.Pattern.Start)!.End);
        Assert.Equal("rw-p", maps.Find(_target.Hole.Start)!.Permissions);
        Assert.Null(maps.Find(_target.Hole.Start + page));
        Assert.Equal("rw-p", maps.Find(_target.Hole.Start + (2 * page))!.Permissions);
        Assert.Equal("rw-p", maps.Find(_target.ProtNone.Start)!.Permissions);
        Assert.Equal("---p", maps.Find(_target.ProtNone.Start + page)!.Permissions);
        Assert.Equal("r-xp", maps.Find(_target.ReadOnly.Start)!.Permissions);
        Assert.Equal("rw-p", maps.Find(_target.Scratch.Start)!.Permissions);
    }

    [Fact]
    public void Dump_ShowsThePatternAndZeroScratch()
    {
        var page = (ulong)_target.PageSize;

        Assert.Equal(TestPattern.Bytes(TestPattern.PatternSeed, 4000, 200), _target.Dump(_target.Pattern.Start + 4000, 200));
        Assert.Equal(TestPattern.Bytes(TestPattern.HoleSeed, 2 * page, 16), _target.Dump(_target.Hole.Start + (2 * page), 16));
        Assert.Equal(TestPattern.Bytes(TestPattern.ProtNoneSeed, page - 8, 8), _target.Dump(_target.ProtNone.Start + page - 8, 8));
        Assert.Equal(TestPattern.Bytes(TestPattern.ReadOnlySeed, 0, 32), _target.Dump(_target.ReadOnly.Start, 32));
        Assert.Equal(new byte[64], _target.Dump(_target.Scratch.Start, 64));
    }

    [Fact]
    public void Dump_OfTheHole_IsRefused()
    {
        Assert.Throws<InvalidOperationException>(() => _target.Dump(_target.Hole.Start + (ulong)_target.PageSize, 1));
    }

    [Fact]
    public void Pattern_HasNoZeroNorSentinelBytes()
    {
        var bytes = TestPattern.Bytes(TestPattern.PatternSeed, 0, 1 << 20);

        Assert.Equal(-1, bytes.AsSpan().IndexOfAny((byte)0x00, (byte)0x5A, (byte)0xA5));
    }

    [Fact]
    public void Unmap_RemovesTheRegion()
    {
        using var target = TargetProcess.Start(patternPages: 1);

        target.Unmap("readonly");

        Assert.Null(ProcMaps.Read(target.Pid).Find(target.ReadOnly.Start));
    }

    [Fact]
    public void ClosingStdin_EndsTheTarget()
    {
        var target = TargetProcess.Start(patternPages: 1);
        var pid = target.Pid;
        var clock = System.Diagnostics.Stopwatch.StartNew();

        target.Dispose();

        // Dispose kills a target that is still there after 5 s: it must not have had to.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the target took {clock.Elapsed} to exit");
        Assert.Null(ProcStat.TryRead(pid));
    }
}
