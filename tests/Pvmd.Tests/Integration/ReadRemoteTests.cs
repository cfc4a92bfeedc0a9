using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Range = Pvmd.V1.Range;

namespace Pvmd.Tests.Integration;

/// <summary>ReadRemote against a live target whose memory is known byte for byte.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ReadRemoteTests : IClassFixture<TargetFixture>
{
    private readonly DaemonFixture _daemon;
    private readonly TargetProcess _target;
    private readonly ulong _page;

    public ReadRemoteTests(DaemonFixture daemon, TargetFixture target)
    {
        _daemon = daemon;
        _target = target.Target;
        _page = (ulong)_target.PageSize;
    }

    [Fact]
    public async Task Read_SmallRangeInsideOnePage_DeliversExactBytes()
    {
        var address = _target.Pattern.Start + 100;

        var outcome = await ReadAsync(new Range { Address = address, Length = 37 });

        var range = outcome[0];
        AssertComplete(range.Result, 0, address, 37);
        Assert.Null(range.Result!.Check);
        Expect.Chunks(range, address, 37, _target.Pattern, TestPattern.PatternSeed);
        Assert.Equal([(address, 37UL)], Expect.Covered(range));
    }

    [Fact]
    public async Task Read_UnalignedRangeOverAllPatternPages_DeliversExactBytes()
    {
        var address = _target.Pattern.Start + 1;
        var length = _target.Pattern.Length - 2;

        var outcome = await ReadAsync(new Range { Address = address, Length = length });

        var range = outcome[0];
        AssertComplete(range.Result, 0, address, length);
        Expect.Chunks(range, address, length, _target.Pattern, TestPattern.PatternSeed);
        Assert.Equal([(address, length)], Expect.Covered(range));
    }

    [Fact]
    public async Task Read_AcrossUnmappedPage_StopsAtItAndDeliversThePageAfter()
    {
        // 100 bytes before the hole, the whole unmapped page, 100 bytes of the page after it.
        var address = _target.Hole.Start + _page - 100;
        var length = 100 + _page + 100;
        var holeStart = _target.Hole.Start + _page;

        var outcome = await ReadAsync(new Range { Address = address, Length = length });

        var result = outcome[0].Result;
        Assert.NotNull(result);
        Assert.Equal(200UL, result.BytesRead);
        Assert.Equal(200UL, result.SyscallReturned);
        Assert.Equal(_page, result.UnreadableBytes);
        Assert.True(result.HasStopAddress, "a read that hit a hole must say where it stopped");
        Assert.Equal(holeStart, result.StopAddress);
        Assert.Equal(StopReason.Unmapped, result.StopReason);
        var hole = Assert.Single(result.Holes);
        Assert.Equal((holeStart, _page, StopReason.Unmapped), (hole.Address, hole.Length, hole.Reason));
        Assert.Equal([(address, 100UL), (holeStart + _page, 100UL)], Expect.Covered(outcome[0]));
        Expect.Chunks(outcome[0], address, length, _target.Hole, TestPattern.HoleSeed);
    }

    [Fact]
    public async Task Read_StartingInsideUnmappedPage_ReportsTheHoleFromTheStart()
    {
        var holeStart = _target.Hole.Start + _page;
        var length = _page + 10;

        var outcome = await ReadAsync(new Range { Address = holeStart, Length = length });

        var result = outcome[0].Result!;
        Assert.Equal(10UL, result.BytesRead);
        Assert.Equal(_page, result.UnreadableBytes);
        Assert.Equal(holeStart, result.StopAddress);
        Assert.Equal(StopReason.Unmapped, result.StopReason);
        var hole = Assert.Single(result.Holes);
        Assert.Equal((holeStart, _page, StopReason.Unmapped), (hole.Address, hole.Length, hole.Reason));
        Assert.Equal([(holeStart + _page, 10UL)], Expect.Covered(outcome[0]));
        Expect.Chunks(outcome[0], holeStart, length, _target.Hole, TestPattern.HoleSeed);
    }

    [Fact]
    public async Task Read_IntoProtNonePage_StopsWithReasonProtection()
    {
        var guard = _target.ProtNone.Start + _page;
        var address = guard - 10;

        var outcome = await ReadAsync(new Range { Address = address, Length = 20 });

        var result = outcome[0].Result!;
        Assert.Equal(10UL, result.BytesRead);
        Assert.Equal(10UL, result.SyscallReturned);
        Assert.Equal(10UL, result.UnreadableBytes);
        Assert.Equal(guard, result.StopAddress);
        Assert.Equal(StopReason.Protection, result.StopReason);
        var hole = Assert.Single(result.Holes);
        Assert.Equal((guard, 10UL, StopReason.Protection), (hole.Address, hole.Length, hole.Reason));
        Assert.Equal([(address, 10UL)], Expect.Covered(outcome[0]));
        Expect.Chunks(outcome[0], address, 20, _target.ProtNone, TestPattern.ProtNoneSeed);
    }

    [Fact]
    public async Task Read_WholeHoleRegion_DeliversBothMappedPages()
    {
        var outcome = await ReadAsync(new Range { Address = _target.Hole.Start, Length = _target.Hole.Length });

        var result = outcome[0].Result!;
        Assert.Equal(2 * _page, result.BytesRead);
        Assert.Equal(_page, result.UnreadableBytes);
        Assert.Equal(_target.Hole.Start + _page, result.StopAddress);
        Assert.Equal([(_target.Hole.Start, _page), (_target.Hole.Start + (2 * _page), _page)], Expect.Covered(outcome[0]));
        Expect.Chunks(outcome[0], _target.Hole.Start, _target.Hole.Length, _target.Hole, TestPattern.HoleSeed);
    }

    [Fact]
    public async Task Read_2500Ranges_MoreThanIovMax_EachExactAndInRequestOrder()
    {
        var ranges = Enumerable.Range(0, 2500).Select(i =>
        {
            var length = 1 + (ulong)(i % 61);
            var offset = (ulong)i * 37 % (_target.Pattern.Length - length);
            return new Range { Address = _target.Pattern.Start + offset, Length = length };
        }).ToArray();

        var outcome = await ReadAsync(ranges);

        Assert.Equal(Enumerable.Range(0, 2500).Select(i => (uint)i), outcome.ResultOrder);
        for (var i = 0; i < ranges.Length; i++)
        {
            AssertComplete(outcome[i].Result, i, ranges[i].Address, ranges[i].Length);
            Expect.Chunks(outcome[i], ranges[i].Address, ranges[i].Length, _target.Pattern, TestPattern.PatternSeed);
            Assert.Equal([(ranges[i].Address, ranges[i].Length)], Expect.Covered(outcome[i]));
        }
    }

    [Fact]
    public async Task Read_ManyRangesWithUnreadableOnesAmongThem_EachRangeStandsAlone()
    {
        // process_vm_readv stops at the first remote iovec it cannot read: the ranges after
        // an unreadable one in the same batch must still be read.
        var unmapped = _target.Hole.Start + _page;
        var guard = _target.ProtNone.Start + _page;
        var ranges = Enumerable.Range(0, 1500).Select(i => (i % 7) switch
        {
            3 => new Range { Address = unmapped + (ulong)(i % 100), Length = 16 },
            5 => new Range { Address = guard, Length = 8 },
            _ => new Range { Address = _target.Pattern.Start + ((ulong)i * 11 % 4000), Length = 1 + (ulong)(i % 40) },
        }).ToArray();

        var outcome = await ReadAsync(ranges);

        Assert.Equal(Enumerable.Range(0, ranges.Length).Select(i => (uint)i), outcome.ResultOrder);
        for (var i = 0; i < ranges.Length; i++)
        {
            var result = outcome[i].Result!;
            switch (i % 7)
            {
                case 3:
                case 5:
                    Assert.True(result.BytesRead == 0, $"range {i}: {result}");
                    Assert.Equal(ranges[i].Length, result.UnreadableBytes);
                    Assert.Equal(ranges[i].Address, result.StopAddress);
                    Assert.Equal(i % 7 == 3 ? StopReason.Unmapped : StopReason.Protection, result.StopReason);
                    Assert.Empty(Expect.Covered(outcome[i]));
                    break;
                default:
                    AssertComplete(result, i, ranges[i].Address, ranges[i].Length);
                    Expect.Chunks(outcome[i], ranges[i].Address, ranges[i].Length, _target.Pattern, TestPattern.PatternSeed);
                    break;
            }
        }
    }

    [Fact]
    public async Task Read_WithVerify_OnCleanRange_ShowsNoMismatch()
    {
        var address = _target.Pattern.Start + 10;
        var length = (2 * _page) + 5;

        var outcome = await ReadAsync([new Range { Address = address, Length = length }], verify: true);

        var result = outcome[0].Result;
        AssertComplete(result, 0, address, length);
        var check = result!.Check;
        Assert.NotNull(check);
        Assert.Equal(length, check.Returned);
        Assert.Equal(length, check.Actual);
        Assert.Equal(0UL, check.ChangedBeyondReturned);
        Assert.Equal(0UL, check.UnwrittenBelowReturned);
        // No pattern byte equals a sentinel, so every byte shows as written.
        Assert.Equal(0, check.FirstModifiedOffset);
        Assert.Equal((long)length - 1, check.LastModifiedOffset);
        Assert.False(check.Mismatch);
        Expect.Chunks(outcome[0], address, length, _target.Pattern, TestPattern.PatternSeed);
    }

    [Fact]
    public async Task Read_WithVerify_IntoProtNone_ReturnedEqualsActual()
    {
        // The remote side is short here; x86 returns exactly the readable prefix.
        var guard = _target.ProtNone.Start + _page;

        var outcome = await ReadAsync([new Range { Address = guard - 24, Length = 48 }], verify: true);

        var result = outcome[0].Result!;
        Assert.Equal(24UL, result.BytesRead);
        Assert.NotNull(result.Check);
        Assert.Equal(24UL, result.Check.Returned);
        Assert.Equal(24UL, result.Check.Actual);
        Assert.Equal(0UL, result.Check.ChangedBeyondReturned);
        Assert.False(result.Check.Mismatch);
        Expect.Chunks(outcome[0], guard - 24, 48, _target.ProtNone, TestPattern.ProtNoneSeed);
    }

    [Fact]
    public async Task Read_WithCorrectStartTime_Succeeds()
    {
        var request = new ReadRemoteRequest { Target = _target.Target, Ranges = { new Range { Address = _target.ReadOnly.Start, Length = 64 } } };

        var outcome = await ReadOutcome.ReadAsync(_daemon.Client, request);

        AssertComplete(outcome[0].Result, 0, _target.ReadOnly.Start, 64);
        Expect.Chunks(outcome[0], _target.ReadOnly.Start, 64, _target.ReadOnly, TestPattern.ReadOnlySeed);
    }

    private Task<ReadOutcome> ReadAsync(params Range[] ranges) => ReadAsync(ranges, verify: false);

    private Task<ReadOutcome> ReadAsync(Range[] ranges, bool verify)
    {
        var request = new ReadRemoteRequest { Target = new V1.Target { Pid = _target.Pid }, Verify = verify };
        request.Ranges.AddRange(ranges);
        return ReadOutcome.ReadAsync(_daemon.Client, request);
    }

    /// <summary>The range was read whole: nothing unreadable, no stop, no holes.</summary>
    internal static void AssertComplete(RangeResult? result, int index, ulong address, ulong length)
    {
        Assert.True(result is not null, $"range {index} has no result");
        Assert.Equal((uint)index, result.RangeIndex);
        Assert.Equal(address, result.Address);
        Assert.Equal(length, result.Length);
        Assert.True(length == result.BytesRead, $"range {index}: {result}");
        Assert.Equal(length, result.SyscallReturned);
        Assert.Equal(0UL, result.UnreadableBytes);
        Assert.False(result.HasStopAddress, $"range {index} read whole but has a stop address: {result}");
        Assert.Equal(StopReason.Unspecified, result.StopReason);
        Assert.Empty(result.Holes);
    }
}
